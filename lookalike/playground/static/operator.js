// The operator's page: the playground's numbers as the bot's /stats sends them, in the language
// chosen, its words from the bot's catalogs (/api/texts). The session cookie (set by the login
// form, HttpOnly) goes with each request; nothing here holds a secret.
"use strict";

const params = new URLSearchParams(location.search);
const lang = document.getElementById("lang");

async function speak(code) {
  const page = await (await fetch("/api/texts?lang=" + encodeURIComponent(code))).json();
  document.documentElement.lang = page.lang;
  document.documentElement.dir = page.dir;
  lang.replaceChildren(...page.languages.map(({code, name}) => new Option(name, code)));
  lang.value = page.lang;
  document.querySelectorAll("[data-text]").forEach((element) => { element.textContent = page.texts[element.dataset.text]; });
  document.getElementById("chart").alt = page.texts.chart;
  show();
}

function show() {
  const query = new URLSearchParams({lang: lang.value});
  document.getElementById("chart").src = "/operator/chart.png?" + query;
  fetch("/operator/summary?" + query)
    .then((answer) => answer.text())
    .then((text) => { document.getElementById("summary").textContent = text; });
}

lang.addEventListener("change", () => speak(lang.value));
speak(params.get("lang") || navigator.language || "en");
