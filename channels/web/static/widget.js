/* Trợ lý Một cửa — chat widget. Embed with one tag:
 *   <script src="https://HOST/widget.js" data-unit="..." data-title="..." data-color="#0068ff"></script>
 * Optional: data-server="https://rasa.example/" to talk to another Rasa-compatible REST channel.
 * Messages are always rendered as text (textContent), never as HTML.
 */
(function () {
  "use strict";
  var script = document.currentScript || (function () {
    var all = document.getElementsByTagName("script");
    return all[all.length - 1];
  })();
  if (window.__motcuaWidget) return;
  window.__motcuaWidget = true;

  var origin = new URL(script.src, window.location.href).origin;
  var cfg = {
    unit: script.getAttribute("data-unit") || "",
    title: script.getAttribute("data-title") || "Trợ lý Một cửa",
    color: script.getAttribute("data-color") || "#0068ff",
    server: (script.getAttribute("data-server") || origin).replace(/\/+$/, "")
  };
  if (!/^#[0-9a-fA-F]{3,8}$/.test(cfg.color)) cfg.color = "#0068ff";
  var storeKey = "motcua:" + cfg.server + ":" + cfg.unit;
  var MAX_HISTORY = 100;

  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey)) || {}; } catch (e) { return {}; }
  }
  function save() {
    try { localStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }
  var state = load();
  if (!state.sender) {
    state.sender = "web-" + Math.random().toString(36).slice(2) + Date.now().toString(36);
  }
  state.history = Array.isArray(state.history) ? state.history.slice(-MAX_HISTORY) : [];
  save();

  var css = [
    ".mc-root{position:fixed;right:16px;bottom:16px;z-index:2147483000;font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;font-size:15px;line-height:1.45}",
    ".mc-launch{width:60px;height:60px;border-radius:50%;border:0;background:var(--mc);color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}",
    ".mc-launch:focus-visible,.mc-panel button:focus-visible,.mc-panel textarea:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}",
    ".mc-panel{display:none;flex-direction:column;width:370px;height:600px;max-height:calc(100vh - 100px);background:#fff;border-radius:14px;overflow:hidden;box-shadow:0 8px 30px rgba(0,0,0,.25);margin-bottom:12px}",
    ".mc-open .mc-panel{display:flex}",
    ".mc-head{background:var(--mc);color:#fff;padding:12px 14px;display:flex;align-items:center;gap:10px}",
    ".mc-avatar{width:36px;height:36px;border-radius:50%;background:#fff;color:var(--mc);display:flex;align-items:center;justify-content:center;font-weight:700}",
    ".mc-title{flex:1;font-weight:600}.mc-sub{font-size:12px;opacity:.9;font-weight:400}",
    ".mc-close{background:transparent;border:0;color:#fff;font-size:24px;cursor:pointer;line-height:1;padding:4px 8px}",
    ".mc-log{flex:1;overflow-y:auto;padding:12px;background:#eef0f3;display:flex;flex-direction:column;gap:8px}",
    ".mc-msg{max-width:82%;padding:8px 12px;border-radius:16px;white-space:pre-wrap;overflow-wrap:break-word}",
    ".mc-bot{background:#fff;color:#1c1e21;align-self:flex-start;border-bottom-left-radius:4px;box-shadow:0 1px 1px rgba(0,0,0,.06)}",
    ".mc-user{background:var(--mc);color:#fff;align-self:flex-end;border-bottom-right-radius:4px}",
    ".mc-msg a{color:inherit;text-decoration:underline}",
    ".mc-chips{display:flex;flex-wrap:wrap;gap:6px;padding:8px 12px;background:#fff;border-top:1px solid #e4e6eb}",
    ".mc-chips:empty{display:none}",
    ".mc-chip{border:1px solid var(--mc);color:var(--mc);background:#fff;border-radius:16px;padding:5px 12px;cursor:pointer;font-size:14px;max-width:100%;white-space:normal;text-align:left;overflow-wrap:normal;word-break:normal}",
    ".mc-chip:hover{background:var(--mc);color:#fff}",
    ".mc-typing{align-self:flex-start;background:#fff;border-radius:16px;padding:10px 14px;display:none}",
    ".mc-typing span{display:inline-block;width:7px;height:7px;margin:0 2px;background:#8a8d91;border-radius:50%;animation:mc-b 1.2s infinite}",
    ".mc-typing span:nth-child(2){animation-delay:.2s}.mc-typing span:nth-child(3){animation-delay:.4s}",
    "@keyframes mc-b{0%,60%,100%{opacity:.3;transform:translateY(0)}30%{opacity:1;transform:translateY(-3px)}}",
    ".mc-form{display:flex;gap:8px;padding:10px;border-top:1px solid #e4e6eb;background:#fff}",
    ".mc-input{flex:1;resize:none;border:1px solid #ccd0d5;border-radius:20px;padding:9px 14px;font:inherit;max-height:100px}",
    ".mc-send{border:0;background:var(--mc);color:#fff;border-radius:20px;padding:0 16px;cursor:pointer;font-weight:600}",
    ".mc-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}",
    "@media (max-width:480px){.mc-root.mc-open{right:0;bottom:0;left:0;top:0}.mc-open .mc-panel{width:100vw;height:100%;max-height:none;border-radius:0;margin:0}.mc-open .mc-launch{display:none}.mc-bot{max-width:92%}.mc-log{padding:10px}}"
  ].join("\n");

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = text;
    return n;
  }

  var style = el("style");
  style.textContent = css;
  document.head.appendChild(style);

  var root = el("div", "mc-root");
  root.style.setProperty("--mc", cfg.color);
  var panel = el("div", "mc-panel");
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", cfg.title);
  var head = el("div", "mc-head");
  var avatar = el("div", "mc-avatar", "MC");
  avatar.setAttribute("aria-hidden", "true");
  var titleBox = el("div", "mc-title", cfg.title);
  titleBox.appendChild(el("div", "mc-sub", "Hướng dẫn thủ tục hành chính"));
  var close = el("button", "mc-close", "×");
  close.type = "button";
  close.setAttribute("aria-label", "Đóng khung trò chuyện");
  head.appendChild(avatar); head.appendChild(titleBox); head.appendChild(close);
  var log = el("div", "mc-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  var typing = el("div", "mc-typing");
  typing.setAttribute("aria-label", "Trợ lý đang trả lời");
  typing.appendChild(el("span")); typing.appendChild(el("span")); typing.appendChild(el("span"));
  var chips = el("div", "mc-chips");
  chips.setAttribute("aria-label", "Gợi ý trả lời nhanh");
  var form = el("form", "mc-form");
  var label = el("label", "mc-sr", "Nhập câu hỏi");
  var input = el("textarea", "mc-input");
  input.rows = 1;
  input.id = "mc-input-" + Math.random().toString(36).slice(2);
  label.htmlFor = input.id;
  input.placeholder = "Nhập câu hỏi…";
  input.maxLength = 2000;
  var send = el("button", "mc-send", "Gửi");
  send.type = "submit";
  form.appendChild(label); form.appendChild(input); form.appendChild(send);
  panel.appendChild(head); panel.appendChild(log); panel.appendChild(chips); panel.appendChild(form);
  var launch = el("button", "mc-launch");
  launch.type = "button";
  launch.setAttribute("aria-label", "Mở " + cfg.title);
  launch.setAttribute("aria-expanded", "false");
  launch.innerHTML = '<svg width="30" height="30" viewBox="0 0 24 24" fill="currentColor" aria-hidden="true"><path d="M12 3C6.5 3 2 6.8 2 11.5c0 2.6 1.4 4.9 3.6 6.5L5 21l3.7-1.9c1 .3 2.1.4 3.3.4 5.5 0 10-3.8 10-8.5S17.5 3 12 3z"/></svg>';
  root.appendChild(panel); root.appendChild(launch);
  log.appendChild(typing);

  var PAGE = /\/thu-tuc\/(\d+\.\d{6})$/;
  function linkify(node, text) {
    // Text only: URLs become links built from text nodes, never HTML from the message. A link
    // to a procedure page reads "trang thủ tục 1.001193" rather than its whole address.
    var re = /(https?:\/\/[^\s<>"]+)/g, last = 0, m;
    while ((m = re.exec(text)) !== null) {
      node.appendChild(document.createTextNode(text.slice(last, m.index)));
      var page = PAGE.exec(m[1]);
      var a = el("a", null, page ? "trang thủ tục " + page[1] : m[1]);
      a.href = m[1]; a.target = "_blank"; a.rel = "noopener noreferrer";
      node.appendChild(a);
      last = m.index + m[1].length;
    }
    node.appendChild(document.createTextNode(text.slice(last)));
  }

  function bubble(from, text) {
    var b = el("div", "mc-msg " + (from === "user" ? "mc-user" : "mc-bot"));
    if (from === "user") b.textContent = text; else linkify(b, text);
    log.insertBefore(b, typing);
    return b;
  }

  function toBottom() { log.scrollTop = log.scrollHeight; }

  function showAnswer(first) {
    // A long answer is read from its start: its first bubble goes to the top of the log. An
    // answer that fits the log ends it, as any chat does.
    if (!first) { toBottom(); return; }
    var start = first.getBoundingClientRect().top - log.getBoundingClientRect().top + log.scrollTop;
    if (log.scrollHeight - start <= log.clientHeight) toBottom();
    else log.scrollTop = Math.max(0, start - 8);
  }

  function showChips(buttons) {
    chips.textContent = "";
    (buttons || []).slice(0, 10).forEach(function (b) {
      if (!b || typeof b.title !== "string" || typeof b.payload !== "string") return;
      // The whole title, wrapped if long (never cut), and echoed whole when clicked.
      var c = el("button", "mc-chip", b.title);
      c.type = "button";
      c.title = b.title;
      c.addEventListener("click", function () { ask(b.payload, b.title); });
      chips.appendChild(c);
    });
  }

  var latest = null;  // the first bubble of the last answer, shown from its start on opening
  function render() {
    Array.prototype.slice.call(log.querySelectorAll(".mc-msg")).forEach(function (n) { n.remove(); });
    var lastAnswer = null, afterUser = true;
    state.history.forEach(function (h) {
      var b = bubble(h.from, h.text);
      if (h.from === "bot" && afterUser) lastAnswer = b;
      afterUser = h.from === "user";
    });
    var lastBot = null;
    for (var i = state.history.length - 1; i >= 0; i--) {
      if (state.history[i].from === "bot") { lastBot = state.history[i]; break; }
      if (state.history[i].from === "user") break;
    }
    showChips(lastBot ? lastBot.buttons : []);
    latest = lastAnswer;
    showAnswer(latest);
  }

  function remember(from, text, buttons) {
    state.history.push({ from: from, text: text, buttons: buttons || [] });
    state.history = state.history.slice(-MAX_HISTORY);
    save();
  }

  // Messages typed while an answer is on its way wait here and go out in order: none is lost.
  var queue = [];
  var busy = false;

  function ask(message, shown, silent) {
    message = (message || "").trim();
    if (!message) return;
    if (!silent) {
      bubble("user", shown || message);
      remember("user", shown || message);
      toBottom();
    }
    queue.push(message);
    if (!busy) next();
  }

  function next() {
    var message = queue.shift();
    if (message === undefined) {
      busy = false;
      typing.style.display = "none";
      return;
    }
    busy = true;
    showChips([]);
    typing.style.display = "block";
    toBottom();
    var body = JSON.stringify({ sender: state.sender, message: message, metadata: { unit: cfg.unit, source: "widget" } });
    fetch(cfg.server + "/webhooks/rest/webhook", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: body
    }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(function (replies) {
      if (!Array.isArray(replies) || !replies.length) {
        replies = [{ text: "Xin lỗi, tôi chưa có câu trả lời. Anh/chị vui lòng hỏi lại theo cách khác." }];
      }
      var buttons = [], first = null;
      replies.forEach(function (r) {
        if (r && typeof r.text === "string" && r.text) {
          var b = bubble("bot", r.text);
          first = first || b;
          latest = first;
        }
        buttons = (r && Array.isArray(r.buttons)) ? r.buttons : buttons;
        remember("bot", (r && r.text) || "", (r && r.buttons) || []);
      });
      if (!queue.length) showChips(buttons);
      typing.style.display = queue.length ? "block" : "none";
      showAnswer(first);
    }).catch(function () {
      var t = "Không kết nối được máy chủ. Anh/chị vui lòng thử lại sau ít phút.";
      bubble("bot", t);
      remember("bot", t, []);
      toBottom();
    }).then(function () {
      if (queue.length) { next(); return; }
      busy = false;
      typing.style.display = "none";
      if (root.classList.contains("mc-open")) input.focus({ preventScroll: true });
    });
  }

  function open(flag) {
    root.classList.toggle("mc-open", flag);
    launch.setAttribute("aria-expanded", flag ? "true" : "false");
    state.open = flag; save();
    if (flag) { showAnswer(latest); input.focus({ preventScroll: true }); } else { launch.focus(); }
  }

  launch.addEventListener("click", function () { open(true); });
  close.addEventListener("click", function () { open(false); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") open(false); });
  form.addEventListener("submit", function (e) { e.preventDefault(); var v = input.value; input.value = ""; ask(v); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.submit(); }
  });

  function start() {
    document.body.appendChild(root);
    render();
    var code = new URLSearchParams(window.location.search).get("p");
    if (code && /^\d+\.\d{6}$/.test(code) && state.deepLink !== code) {
      // Opened from a QR code at the desk: start on that procedure. The citizen typed
      // nothing, so no question bubble is shown.
      state.deepLink = code; save();
      open(true);
      ask("/ask_overview{\"procedure\":\"" + code + "\"}", null, true);
    } else {
      if (!state.history.length) {
        // An empty chat opens with the greeting and the most asked procedures as chips.
        ask("/greet", null, true);
      }
      if (state.open) open(true);
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
