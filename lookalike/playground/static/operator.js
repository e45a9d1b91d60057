// The operator's page: the playground's numbers as the bot's /stats sends them. The session
// cookie (set by the login form, HttpOnly) goes with each request; nothing here holds a secret.
"use strict";

const params = new URLSearchParams(location.search);
const lang = document.getElementById("lang");
lang.value = (params.get("lang") || navigator.language || "en").toLowerCase().startsWith("ru") ? "ru" : "en";

function show() {
  const query = new URLSearchParams({lang: lang.value});
  document.getElementById("chart").src = "/operator/chart.png?" + query;
  fetch("/operator/summary?" + query)
    .then((answer) => answer.text())
    .then((text) => { document.getElementById("summary").textContent = text; });
}

lang.addEventListener("change", show);
show();
