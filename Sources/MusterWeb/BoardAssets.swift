/// The board's script and style sheet, served by the broker itself (no CDN, no build step).
enum BoardAssets {
    /// Countdowns tick every second on the broker's clock (the page carries it, so a browser's
    /// wrong clock does not move a deadline); the summons board is replaced whenever the event
    /// stream sends a new one, except while the user is typing in one of its forms.
    static let script = """
    "use strict";
    (function () {
      let offset = 0;
      function format(ms) {
        const s = Math.max(0, Math.floor(ms / 1000));
        const pad = (n) => (n < 10 ? "0" : "") + n;
        if (s >= 3600) return Math.floor(s / 3600) + "h " + pad(Math.floor((s % 3600) / 60)) + "m";
        if (s >= 60) return Math.floor(s / 60) + "m " + pad(s % 60) + "s";
        return s + "s";
      }
      function tick() {
        const now = Date.now() + offset;
        for (const el of document.querySelectorAll(".countdown[data-deadline]")) {
          const left = Number(el.dataset.deadline) - now;
          el.textContent = (left >= 0 ? el.dataset.left : el.dataset.over) + " " + format(Math.abs(left));
          el.classList.toggle("overdue", left < 0);
        }
      }
      // A new board keeps what the user typed in its forms; it waits while a field has the focus.
      let pending = null;
      function replaceBoard(html) {
        const section = document.getElementById("summons-board");
        if (!section) return;
        const focused = document.activeElement;
        if (focused && focused !== document.body && section.contains(focused)) { pending = html; return; }
        pending = null;
        const holder = document.createElement("div");
        holder.innerHTML = html;
        const fresh = holder.querySelector("#summons-board");
        if (!fresh) return;
        for (const field of section.querySelectorAll("form[id] input[name], form[id] select[name]")) {
          if (field.type === "hidden") continue;
          const chosen = field.tagName === "SELECT" ? !(field.selectedOptions[0] && field.selectedOptions[0].defaultSelected) : field.value !== field.defaultValue;
          if (!chosen) continue;
          const twin = fresh.querySelector("#" + CSS.escape(field.form.id) + " [name='" + CSS.escape(field.name) + "']");
          if (!twin || (twin.tagName === "SELECT" && ![...twin.options].some((option) => option.value === field.value))) continue;
          twin.value = field.value;
        }
        section.replaceWith(fresh);
        tick();
        document.body.dataset.updates = String(Number(document.body.dataset.updates || "0") + 1);
      }
      // After a field loses the focus, a moment for the click that moved it (a button) to land.
      document.addEventListener("focusout", () => setTimeout(() => { if (pending) replaceBoard(pending); }, 400));
      // Each form sent gets a token of its own: the same form sent again (a reload) is stored once.
      document.addEventListener("submit", (event) => {
        const token = event.target.querySelector("input[name='form-token']");
        if (token && !token.value) token.value = "board-" + (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now());
      });
      // A form changed after it was sent (back to it, then edited) is a new one: a new token.
      const forget = (event) => {
        const token = event.target.form && event.target.form.querySelector("input[name='form-token']");
        if (token && event.target !== token) token.value = "";
      };
      document.addEventListener("input", forget);
      document.addEventListener("change", forget);
      document.addEventListener("DOMContentLoaded", () => {
        const section = document.getElementById("summons-board");
        if (section && section.dataset.now) offset = Number(section.dataset.now) - Date.now();
        tick();
        setInterval(tick, 1000);
        const live = document.getElementById("live");
        if (!section || !window.EventSource) return;
        const lang = document.documentElement.lang.startsWith("zh") ? "zh" : "en";
        const events = new EventSource("/events?lang=" + lang);
        events.addEventListener("clock", (event) => { offset = Number(event.data) - Date.now(); });
        events.addEventListener("board", (event) => replaceBoard(event.data));
        events.onopen = () => { if (live) { live.textContent = "● " + live.dataset.live; live.className = "up"; } };
        events.onerror = () => { if (live) { live.textContent = "○ " + live.dataset.reconnecting; live.className = "down"; } };
      });
    })();

    """

    static let styleSheet = """
    :root { --ink: #1d2733; --muted: #5b6b7b; --line: #d7dee6; --accent: #b3261e; --ok: #1e7d3a; --late: #b86e00; --bg: #f6f8fa; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 15px/1.5 "Noto Sans CJK SC", "WenQuanYi Zen Hei", "Microsoft YaHei", "PingFang SC", system-ui, sans-serif; color: var(--ink); background: var(--bg); }
    header.top { background: #fff; border-bottom: 1px solid var(--line); padding: 12px 24px 0; }
    header.top h1 { margin: 0; font-size: 20px; }
    .who { margin: 4px 0 8px; color: var(--muted); }
    nav a { display: inline-block; padding: 6px 14px; margin-right: 4px; color: var(--ink); text-decoration: none; border-bottom: 3px solid transparent; }
    nav a.current { border-bottom-color: var(--accent); font-weight: 600; }
    main { padding: 16px 24px; max-width: 1200px; }
    h2 { font-size: 17px; margin: 18px 0 8px; }
    h3 { margin: 0; font-size: 16px; display: inline; }
    article, section.panel { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin-bottom: 14px; }
    article header code { margin-left: 8px; color: var(--muted); }
    article.summons.open { border-left: 5px solid var(--accent); }
    article.summons.closed { opacity: 0.85; }
    dl.facts { display: grid; grid-template-columns: max-content 1fr max-content 1fr; gap: 2px 12px; margin: 8px 0; }
    dl.facts dt { color: var(--muted); }
    dl.facts dd { margin: 0; }
    table { border-collapse: collapse; width: 100%; background: #fff; }
    th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
    th { color: var(--muted); font-weight: 600; }
    td.status.on-time { color: var(--ok); font-weight: 600; }
    td.status.late { color: var(--late); font-weight: 600; }
    td.status.missed { color: var(--accent); font-weight: 600; }
    .countdown { font-weight: 700; font-variant-numeric: tabular-nums; }
    .countdown.overdue { color: var(--accent); }
    .tally { margin: 4px 0; font-weight: 600; }
    form.action { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: end; margin-top: 8px; }
    form.action label { display: flex; flex-direction: column; font-size: 13px; color: var(--muted); }
    input, select { font: inherit; padding: 4px 6px; border: 1px solid var(--line); border-radius: 4px; min-width: 9em; }
    button { font: inherit; padding: 5px 14px; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
    .notice { padding: 8px 12px; border-radius: 4px; }
    .notice.done { background: #e6f4ea; color: var(--ok); }
    .notice.refused { background: #fdecea; color: var(--accent); }
    code.id { color: var(--muted); font-size: 12px; }
    #live.up { color: var(--ok); }
    #live.down { color: var(--accent); }
    .empty { color: var(--muted); }
    ol.timeline { color: var(--muted); font-size: 13px; }
    figure.chart { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; margin: 0 0 14px; overflow-x: auto; }
    figure.chart figcaption { font-weight: 600; margin-bottom: 6px; }
    svg text { font-size: 12px; fill: var(--ink); }
    svg rect.track { fill: #eef1f4; }
    svg rect.bar.on-time { fill: var(--ok); }
    svg rect.bar.p90 { fill: #f2c27b; }
    svg rect.bar.median { fill: var(--late); }
    svg rect.bar.completion { fill: #3b6ea8; }

    """
}
