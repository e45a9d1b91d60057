// The playground's page: send a photo, show the bot's answer as Telegram would, press its buttons.
// The answers are the bot's own (the server runs the bot's code); this only draws them.
"use strict";

const $ = (id) => document.getElementById(id);
const lang = $("lang");
let texts = {};

// The page's words in the chosen language (the browser's at first), from the bot's catalogs.
// The bot's answers come in lang.value too: the server translates them.
async function speak(code) {
  const page = await (await fetch(`/api/texts?lang=${encodeURIComponent(code)}`)).json();
  texts = page.texts;
  document.documentElement.lang = page.lang;
  document.documentElement.dir = page.dir;
  lang.replaceChildren(...page.languages.map(({code, name}) => new Option(name, code)));
  lang.value = page.lang;
  document.querySelectorAll("[data-text]").forEach((element) => {
    if (texts[element.dataset.text]) element.textContent = texts[element.dataset.text];
  });
  document.title = texts.title || document.title;
}

// A message of the catalog with its %(name)s values filled in.
function t(key, values = {}) {
  return (texts[key] || key).replace(/%\((\w+)\)s/g, (_, name) => String(values[name]));
}

const OPERATOR_HOW = {
  local: "open this page on the machine the playground runs on, not through a proxy (or set PLAYGROUND_SECRET).",
  closed: "the playground listens beyond this machine, so set PLAYGROUND_SECRET and log in.",
};

let nextRefresh;

async function refresh() {
  clearTimeout(nextRefresh);
  const state = await (await fetch("/api/state")).json();
  $("chat").hidden = !state.index;
  $("first-run").hidden = !!state.index;
  if (state.index) {
    $("index-line").textContent = t("index_line", {count: state.index.celebrities, version: state.index.version});
    return;
  }
  $("first-run-form").hidden = !state.operator;
  $("first-run-operator-only").hidden = state.operator;
  if (state.operator) {
    $("assets-dir").textContent = state.assets_dir;
    document.querySelectorAll(".photos-dir").forEach((span) => { span.textContent = state.photos_dir; });
    $("problem").textContent = state.problem;
    if (!$("contact").value) $("contact").value = state.contact;
  } else {
    showHowToLogIn(state.access);
  }
  showProgress(state.first_run);
  nextRefresh = setTimeout(refresh, state.first_run.state === "idle" || state.first_run.state === "failed" ? 5000 : 1000);
}

function showHowToLogIn(access) {
  if (access !== "login") {
    $("first-run-how").textContent = OPERATOR_HOW[access];
    return;
  }
  const link = document.createElement("a");
  link.href = "/operator/login?then=/";
  link.textContent = "log in";
  $("first-run-how").replaceChildren(link);
}

function showProgress(progress) {
  const running = progress.state === "fetching" || progress.state === "building";
  $("first-run-progress").hidden = progress.state === "idle";
  $("first-run-start").disabled = running;
  const states = {fetching: "fetching", building: "building", done: "done", failed: "failed"};
  $("first-run-state").textContent = states[progress.state] ? t(states[progress.state]) : "";
  if (progress.percent === null) $("first-run-bar").removeAttribute("value");
  else $("first-run-bar").value = progress.percent;
  $("first-run-stage").textContent = running && progress.percent !== null
    ? `${progress.stage ? progress.stage + " " : ""}${progress.percent}%` : "";
  $("first-run-line").textContent = progress.line || "";
  $("first-run-error").textContent = progress.error || "";
}

$("first-run-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const answer = await fetch("/api/first-run", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({contact: $("contact").value, limit: Number($("limit").value)})});
  const body = await answerOf(answer, (text) => ({error: text}));
  if (body.error) $("first-run-error").textContent = body.error;
  else refresh(); // at once, and every second while it runs
});

// The JSON the server answered, or, for a refusal in plain text (403, 408, 413...), ``asText`` of it.
async function answerOf(answer, asText) {
  if ((answer.headers.get("Content-Type") || "").startsWith("application/json")) return answer.json();
  return asText((await answer.text()).trim());
}

function bubble(kind) {
  const div = document.createElement("div");
  div.className = `message ${kind}`;
  $("messages").append(div);
  div.scrollIntoView({block: "end"});
  return div;
}

function showAnswer(div, message) {
  div.classList.remove("pending");
  div.replaceChildren();
  div.dataset.outcome = message.outcome;
  if (message.picture) {
    const img = document.createElement("img");
    img.className = "answer-picture";
    img.alt = t("picture");
    img.src = message.picture;
    div.append(img);
  }
  if (message.caption) {
    const caption = document.createElement("div");
    caption.className = "caption";
    caption.innerHTML = message.caption; // the bot's HTML caption: names escaped, links http(s) only
    caption.querySelectorAll("a").forEach((a) => { a.target = "_blank"; a.rel = "noopener"; });
    div.append(caption);
  }
  if (message.text) {
    const text = document.createElement("div");
    text.className = "text";
    text.textContent = message.text;
    div.append(text);
  }
  if (message.buttons.length) {
    const rows = document.createElement("div");
    rows.className = "buttons";
    for (const row of message.buttons) {
      const line = document.createElement("div");
      line.className = "row";
      for (const button of row) {
        const b = document.createElement("button");
        b.className = "reply-button";
        b.textContent = button.label;
        b.addEventListener("click", () => press(button.data));
        line.append(b);
      }
      rows.append(line);
    }
    div.append(rows);
  }
  div.scrollIntoView({block: "end"});
}

function alertBox(text) {
  $("alert").textContent = text;
  $("alert").hidden = false;
  setTimeout(() => { $("alert").hidden = true; }, 4000);
}

async function send(file) {
  if (!file) return;
  const mine = bubble("user");
  if (file.type.startsWith("image/")) {
    const img = document.createElement("img");
    img.src = URL.createObjectURL(file); // shown from the browser's memory
    img.alt = file.name;
    mine.append(img);
  } else {
    mine.textContent = file.name;
  }
  const reply = bubble("bot pending");
  reply.textContent = "…";
  const form = new FormData();
  form.append("lang", lang.value);
  form.append("photo", file, file.name);
  try {
    const answer = await fetch("/api/photo", {method: "POST", body: form});
    showAnswer(reply, await answerOf(answer, (text) => ({text, buttons: [], outcome: "refused"})));
  } catch (error) {
    showAnswer(reply, {text: t("no_answer", {error}), buttons: [], outcome: "unsent"});
  }
}

async function press(data) {
  const answer = await fetch("/api/button", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({data, lang: lang.value})});
  const message = await answerOf(answer, (text) => ({alert: text}));
  if (message.alert) alertBox(message.alert);
  else showAnswer(bubble("bot"), message);
}

for (const input of [$("file"), $("camera")]) {
  input.addEventListener("change", () => { send(input.files[0]); input.value = ""; });
}
const drop = $("drop");
document.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
document.addEventListener("dragleave", () => drop.classList.remove("over"));
document.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  send(event.dataTransfer.files[0]);
});

lang.addEventListener("change", () => speak(lang.value));
speak(navigator.language || "en").then(refresh);
