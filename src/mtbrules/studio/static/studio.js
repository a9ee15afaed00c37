// The studio's own script: small on purpose. Pages are rendered on the server; this wires
// the notice's two panes, the copy buttons, the disease suggestions, the clickable chart
// bars, and the YAML editor (CodeMirror 6) to the check / format / save endpoints.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="studio-csrf"]').content;

  function post(url, data, accept) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": accept || "application/json", "X-Studio-CSRF": csrf },
      body: JSON.stringify(data),
    });
  }

  function flash(el) {
    el.classList.remove("flash");
    void el.offsetWidth;
    el.classList.add("flash");
  }

  // ---- 1. pack against notice: click a rule to see its quote, a quote to see its rules
  document.addEventListener("click", function (ev) {
    const rule = ev.target.closest(".rules-pane .rule[data-line]");
    if (rule) {
      const target = document.querySelector('.source-pane mark[data-rules~="' + rule.dataset.rule + '"]');
      if (target) { target.scrollIntoView({ block: "center" }); flash(target); }
      return;
    }
    const mark = ev.target.closest(".source-pane mark.quote");
    if (mark) {
      // A sentence several rules quote leads to all of them; the first is scrolled to.
      mark.dataset.rules.split(" ").forEach(function (id, i) {
        const el = document.getElementById("rule-" + id);
        if (!el) return;
        if (i === 0) el.scrollIntoView({ block: "center" });
        flash(el);
      });
    }
  });

  // ---- copy as JSON / as a scenario
  document.addEventListener("click", function (ev) {
    const btn = ev.target.closest("[data-copy]");
    if (!btn) return;
    const text = document.getElementById(btn.dataset.copy).textContent;
    const done = function () {
      const note = btn.parentElement.querySelector(".copied");
      if (note) { note.hidden = false; setTimeout(function () { note.hidden = true; }, 1500); }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, done);
    } else {
      const area = document.createElement("textarea");
      area.value = text; document.body.appendChild(area); area.select();
      try { document.execCommand("copy"); } finally { area.remove(); }
      done();
    }
  });

  // ---- 2. disease suggestions: a click puts the catalogue name in place of what was typed
  document.addEventListener("click", function (ev) {
    const s = ev.target.closest(".suggestion");
    if (!s) return;
    const input = document.getElementById("f-diseases");
    const parts = input.value.split(/[;；\n]/);
    parts[parts.length - 1] = s.dataset.match;
    input.value = parts.map(function (p) { return p.trim(); }).filter(Boolean).join("; ");
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });

  // ---- 3. chart bars lead to their cases
  function drill(ev) {
    const bar = ev.target.closest("[data-drill]");
    if (!bar) return;
    if (ev.type === "keydown" && ev.key !== "Enter") return;
    htmx.ajax("GET", bar.dataset.drill, { target: "#drill" });
  }
  document.addEventListener("click", drill);
  document.addEventListener("keydown", drill);

  // ---- 3. the editor
  const host = document.getElementById("editor");
  if (!host || !window.CM) return;
  const pack = host.dataset.pack, file = host.dataset.file;
  let sha = host.dataset.sha;
  let saved = document.getElementById("initial-text").value;
  const status = document.getElementById("save-status");
  const diagBox = document.getElementById("diagnostics");

  function offset(doc, line, col) {
    if (!line) return 0;
    const l = doc.line(Math.min(Math.max(line, 1), doc.lines));
    return Math.min(l.from + Math.max(col - 1, 0), l.to);
  }

  function showDiagnostics(data) {
    diagBox.innerHTML = "";
    const all = data.diagnostics.concat(data.elsewhere);
    if (!all.length) { diagBox.textContent = diagBox.dataset.none; diagBox.className = "diagnostics clean"; return; }
    diagBox.className = "diagnostics";
    const head = document.createElement("p");
    head.textContent = all.length + " " + diagBox.dataset.problems;
    diagBox.appendChild(head);
    const list = document.createElement("ul");
    all.forEach(function (d) {
      const li = document.createElement("li");
      li.className = "diag " + d.severity;
      li.textContent = (d.file || "") + ":" + d.line + ":" + d.col + ": " + d.code + " " + d.message + (d.hint ? " (" + d.hint + ")" : "");
      list.appendChild(li);
    });
    diagBox.appendChild(list);
  }

  const checker = CM.linter(async function (view) {
    const resp = await post("/p/" + pack + "/check", { file: file, text: view.state.doc.toString() });
    if (!resp.ok) return [];
    const data = await resp.json();
    showDiagnostics(data);
    const doc = view.state.doc;
    return data.diagnostics.map(function (d) {
      const from = offset(doc, d.line, d.col);
      const line = doc.lineAt(from);
      return {
        from: from, to: line.to > from ? line.to : from,
        severity: d.severity === "error" ? "error" : "warning",
        message: d.code + " " + d.message + (d.hint ? " (" + d.hint + ")" : ""),
      };
    });
  }, { delay: 600 });

  function markDirty() {
    const dirty = view.state.doc.toString() !== saved;
    status.textContent = dirty ? "● " + (document.body.dataset.lang === "zh" ? "未保存" : "unsaved") : "";
    host.classList.toggle("dirty", dirty);
  }

  const view = new CM.EditorView({
    doc: saved,
    parent: host,
    extensions: [
      CM.basicSetup, CM.yaml(), CM.lintGutter(), checker,
      CM.EditorView.updateListener.of(function (u) { if (u.docChanged) markDirty(); }),
    ],
  });
  window.studioEditor = view;  // for the browser tests and the console

  function setText(text) {
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
  }

  window.addEventListener("beforeunload", function (ev) {
    if (view.state.doc.toString() !== saved) { ev.preventDefault(); ev.returnValue = ""; }
  });

  document.getElementById("btn-check").addEventListener("click", function () { CM.forceLinting(view); });

  document.getElementById("btn-fmt").addEventListener("click", async function () {
    const resp = await post("/p/" + pack + "/fmt", { file: file, text: view.state.doc.toString() });
    const data = await resp.json();
    if (data.text !== undefined) { if (data.text !== view.state.doc.toString()) setText(data.text); }
    else { status.textContent = data.error; }
  });

  async function save(base) {
    const text = view.state.doc.toString();
    const resp = await post("/p/" + pack + "/save", { file: file, text: text, sha: base });
    const data = await resp.json();
    const stale = document.getElementById("stale");
    if (resp.status === 409) {
      document.getElementById("disk-text").textContent = data.disk_text;
      stale.hidden = false;
      stale.dataset.sha = data.disk_sha;
      markDirty();
      return;
    }
    if (!resp.ok) { status.textContent = data.error || resp.statusText; return; }
    stale.hidden = true;
    sha = data.sha; saved = text; markDirty();
    status.textContent = "✓ " + (document.body.dataset.lang === "zh" ? "已保存" : "saved");
    runScenarios();
  }
  document.getElementById("btn-save").addEventListener("click", function () { save(sha); });
  document.getElementById("btn-overwrite").addEventListener("click", function () {
    save(document.getElementById("stale").dataset.sha);
  });

  async function fragment(url, data, target) {
    const resp = await post(url, data, "text/html");  // errors come back as a fragment too
    const html = await resp.text();
    const el = document.getElementById(target);
    el.innerHTML = html;
    htmx.process(el);
  }

  function runScenarios() {
    return fragment("/p/" + pack + "/scenarios", { file: file, text: view.state.doc.toString() }, "scenario-results");
  }
  document.getElementById("btn-scenarios").addEventListener("click", runScenarios);

  let caseload = null;
  document.getElementById("caseload-file").addEventListener("change", async function (ev) {
    const f = ev.target.files[0];
    if (!f) return;
    const info = document.getElementById("caseload-info");
    info.textContent = "…";
    const resp = await fetch("/caseloads?name=" + encodeURIComponent(f.name), {
      method: "POST", headers: { "X-Studio-CSRF": csrf, "Accept": "application/json" }, body: f,
    });
    const data = await resp.json();
    if (!resp.ok) { info.textContent = data.error; return; }
    caseload = data.id;
    info.textContent = data.name + ": " + data.rows;
    document.getElementById("caseload-file-radio").checked = true;
  });

  document.getElementById("btn-impact").addEventListener("click", function () {
    const useFile = document.getElementById("caseload-file-radio").checked && caseload;
    document.getElementById("drill").innerHTML = "";
    document.getElementById("impact").innerHTML = "";  // the last run's result goes at once
    fragment("/p/" + pack + "/impact", {
      file: file, text: view.state.doc.toString(),
      caseload: useFile ? caseload : "synthetic",
      n: document.getElementById("synth-n").value, seed: document.getElementById("synth-seed").value,
    }, "impact");
  });

  runScenarios();
})();
