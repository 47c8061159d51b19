// The chat page. The consent link arrives in the JSON answer ("authorization"), never in the
// model's text; the Authorize button navigates the whole tab to it. The request that needed
// consent is kept in sessionStorage and sent again when the binder sends the browser back
// here with ?connected=<provider>.
"use strict";

(function () {
  const PENDING_KEY = "agent.pendingRequest";
  const HISTORY_KEY = "agent.history";
  const MAX_HISTORY = 20;

  const log = document.getElementById("log");
  const reply = document.getElementById("reply");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("message");
  const send = document.getElementById("send");
  const consent = document.getElementById("consent");
  const authorize = document.getElementById("authorize");
  const status = document.getElementById("status");

  function load(key, fallback) {
    try {
      const value = JSON.parse(sessionStorage.getItem(key));
      return value === null ? fallback : value;
    } catch (e) {
      return fallback;
    }
  }

  function save(key, value) {
    sessionStorage.setItem(key, JSON.stringify(value));
  }

  function show(role, text) {
    const line = document.createElement("div");
    line.className = "turn " + role;
    line.textContent = text;  // text only: nothing from the server is parsed as HTML
    log.appendChild(line);
    if (role === "assistant") {
      reply.textContent = text;
    }
  }

  function safeUrl(url) {
    try {
      const parsed = new URL(url);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  function offerConsent(authorization) {
    const url = safeUrl(authorization.url);
    if (!url) {
      status.textContent = "The authorization link is not usable.";
      return;
    }
    authorize.textContent = "Authorize " + authorization.provider;
    authorize.dataset.url = url;
    consent.hidden = false;
  }

  async function ask(message, history) {
    send.disabled = true;
    status.textContent = "";
    consent.hidden = true;
    save(PENDING_KEY, { message: message, history: history });
    try {
      const response = await fetch("/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({ message: message, history: history }),
      });
      const body = await response.json().catch(function () { return {}; });
      if (!response.ok) {
        status.textContent = body.message || "The request failed (" + response.status + ").";
        return;
      }
      show("assistant", body.reply);
      if (body.authorization) {
        offerConsent(body.authorization);  // keep the pending request for the way back
        return;
      }
      sessionStorage.removeItem(PENDING_KEY);
      const updated = history.concat([
        { role: "user", text: message },
        { role: "assistant", text: body.reply },
      ]).slice(-MAX_HISTORY);
      save(HISTORY_KEY, updated);
    } catch (e) {
      status.textContent = "The agent could not be reached.";
    } finally {
      send.disabled = false;
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const message = input.value.trim();
    if (!message) {
      return;
    }
    input.value = "";
    show("user", message);
    ask(message, load(HISTORY_KEY, []));
  });

  authorize.addEventListener("click", function () {
    if (authorize.dataset.url) {
      window.location.assign(authorize.dataset.url);  // top level: the provider refuses frames
    }
  });

  // The conversation so far in this tab (the page reloads on the way back from consent).
  load(HISTORY_KEY, []).forEach(function (turn) {
    if (turn && (turn.role === "user" || turn.role === "assistant")) {
      show(turn.role, String(turn.text));
    }
  });
  reply.textContent = "";

  // Back from the binder: drop ?connected= from the address bar and resume the request.
  const params = new URLSearchParams(window.location.search);
  if (params.has("connected")) {
    window.history.replaceState(null, "", window.location.pathname);
    const pending = load(PENDING_KEY, null);
    if (pending && typeof pending.message === "string") {
      show("user", pending.message);
      ask(pending.message, Array.isArray(pending.history) ? pending.history : []);
    }
  }
})();
