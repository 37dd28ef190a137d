// The page of `yume-gym serve`: shows the streamed frames and sends keys, events and buttons.
// Protocol: yume_gym/commands/play/protocol.py. Plain script, no build step.
"use strict";

const KEY_NAMES = {  // KeyboardEvent.code -> play key name
  KeyW: "W", KeyA: "A", KeyS: "S", KeyD: "D",
  ArrowLeft: "LEFT", ArrowRight: "RIGHT", ArrowUp: "UP", ArrowDown: "DOWN",
};
const view = document.getElementById("view");
const stats = document.getElementById("stats");
const eventBox = document.getElementById("event");
const errorLine = document.getElementById("error");
const held = new Set();
// What arrived so far, for the curious and for tests.
window.yume = { frames: 0, status: null, errors: [] };
let socket = null;

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function sendHeld() {
  send({ type: "keys", held: [...held] });
  for (const span of document.querySelectorAll("#keys span")) {
    span.classList.toggle("held", held.has(span.dataset.key));
  }
}

function showFrame(blob) {
  const url = URL.createObjectURL(blob);
  const previous = view.src;
  view.onload = () => { if (previous.startsWith("blob:")) URL.revokeObjectURL(previous); };
  view.src = url;
  window.yume.frames += 1;
}

function showMessage(message) {
  if (message.type === "hello") {
    document.getElementById("model").textContent = message.model;
    eventBox.maxLength = message.max_event_chars;
  } else if (message.type === "status") {
    window.yume.status = message;
    stats.textContent = message.lines.join("\n");
    document.getElementById("pause").classList.toggle("on", message.paused);
    document.getElementById("record").classList.toggle("on", message.recording);
  } else if (message.type === "error") {
    window.yume.errors.push(message.message);
    errorLine.textContent = message.message;
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws`);
  socket.binaryType = "blob";
  socket.onmessage = (e) => (typeof e.data === "string" ? showMessage(JSON.parse(e.data)) : showFrame(e.data));
  socket.onopen = () => { errorLine.textContent = ""; sendHeld(); };
  socket.onclose = () => {
    stats.textContent = "disconnected; retrying...";
    setTimeout(connect, 1000);
  };
}

function setEvent(text) {
  send({ type: "event", text: text.trim() ? text.trim() : null });
}

document.addEventListener("keydown", (e) => {
  if (e.target === eventBox) {
    if (e.key === "Escape") { eventBox.value = ""; setEvent(""); eventBox.blur(); }
    return;  // Enter submits the form
  }
  const name = KEY_NAMES[e.code];
  if (name) {
    e.preventDefault();  // the arrows would scroll the page
    if (!held.has(name)) { held.add(name); sendHeld(); }
    return;
  }
  if (e.repeat) return;
  if (e.code === "KeyT") { e.preventDefault(); eventBox.focus(); }
  else if (e.code === "KeyR") send({ type: "reset" });
  else if (e.code === "KeyP") send({ type: "pause" });
  else if (e.code === "KeyV") send({ type: "record" });
  else if (e.code === "Escape") setEvent("");
});

document.addEventListener("keyup", (e) => {
  const name = KEY_NAMES[e.code];
  if (name && held.delete(name)) sendHeld();
});

window.addEventListener("blur", () => { held.clear(); sendHeld(); });  // no key stays down unseen
eventBox.addEventListener("focus", () => { held.clear(); sendHeld(); });

document.getElementById("event-form").addEventListener("submit", (e) => {
  e.preventDefault();
  setEvent(eventBox.value);
  eventBox.blur();
});
document.getElementById("event-clear").addEventListener("click", () => { eventBox.value = ""; setEvent(""); });
document.getElementById("reset").addEventListener("click", () => send({ type: "reset" }));
document.getElementById("pause").addEventListener("click", () => send({ type: "pause" }));
document.getElementById("record").addEventListener("click", () => send({ type: "record" }));

connect();
