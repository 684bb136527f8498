// Bifrost's pages work without this file; it adds what only a script can do.
"use strict";

// The words this script writes, in the page's language: base.html renders them as JSON.
const WORDS = JSON.parse(document.getElementById("script-words")?.textContent ?? "{}");

// The sentence `id` with its `{name}` fields filled in.
function say(id, fields = {}) {
  return (WORDS[id] ?? "").replace(/\{(\w+)\}/g, (field, name) => fields[name] ?? field);
}

const STAGES = {
  queued: () => say("queued"),
  analyzing: () => say("analyzing"),
  analyzed: (d) => say("analyzed", {
    lines: d.lines.toLocaleString(document.documentElement.lang), findings: d.findings,
  }),
  explaining: (d) => say("explaining", { provider: d.provider }),
};

// Server-Sent Events from a fetch() answer: calls `on(name, data)` for each event.
async function readEvents(response, on) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (name) on(name, JSON.parse(data));
    }
  }
}

// The analyse form, streamed: progress as it happens, then the stored Report.
function streamForm(form) {
  const status = form.querySelector("#progress");
  const tokens = form.querySelector("#tokens");
  const button = form.querySelector("button[type=submit]");
  const label = button.textContent;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    button.textContent = form.dataset.busy;
    status.textContent = say("sending");
    tokens.textContent = "";
    const done = (message) => {
      status.textContent = message;
      button.disabled = false;
      button.textContent = label;
    };
    try {
      const response = await fetch(form.dataset.stream, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
      });
      if (!response.ok) {  // an error page: show its one line
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const problem = page.querySelector(".problem");
        done(problem ? problem.textContent : say("refused", { status: response.status }));
        return;
      }
      await readEvents(response, (name, data) => {
        if (name === "progress" && STAGES[data.stage]) status.textContent = STAGES[data.stage](data);
        else if (name === "token") { tokens.hidden = false; tokens.textContent += data.text; }
        else if (name === "error") done(data.error.message);
        else if (name === "report") {
          if (data.analysis_id) window.location.assign(`/analyses/${data.analysis_id}`);
          else done(say("not_kept"));
        }
      });
    } catch (error) {
      done(say("disconnected", { problem: error.message }));
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  // "Copy as Markdown": the Report's Markdown is in the page; the button shows once it works.
  for (const button of document.querySelectorAll("[data-copy]")) {
    const source = document.getElementById(button.dataset.copy);
    if (!source || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      const label = button.textContent;
      try {
        await navigator.clipboard.writeText(source.value);
        button.textContent = say("copied");
      } catch {
        button.textContent = say("copy_failed");
      }
      setTimeout(() => { button.textContent = label; }, 2000);
    });
  }
  for (const form of document.querySelectorAll("form[data-stream]")) {
    if (window.fetch && window.TextDecoderStream) streamForm(form);
  }
  // Any other form that takes a while says so, and is not sent twice.
  for (const form of document.querySelectorAll("form[data-busy]:not([data-stream])")) {
    form.addEventListener("submit", () => {
      const button = form.querySelector("button[type=submit]");
      if (!button) return;
      setTimeout(() => {  // after the browser has read the button's own value
        button.disabled = true;
        button.textContent = form.dataset.busy;
      });
    });
  }
});
