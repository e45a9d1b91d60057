// The login form: where to go next (the server accepts "/" and "/operator" only), and why the
// last attempt failed. The secret itself is posted by the form, never put in a URL.
"use strict";

const params = new URLSearchParams(location.search);
if (["/", "/operator"].includes(params.get("then"))) document.getElementById("then").value = params.get("then");
document.getElementById("wrong").hidden = !params.has("wrong");
