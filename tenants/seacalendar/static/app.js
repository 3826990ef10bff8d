// SeaCalendar web UI: sign in with Discord, create a poll, vote, watch the tally move live, and
// keep the event's memories (notes and links) once it is finalised.
"use strict";

const API = "/seacalendar/api";
// Set when this tab starts a sign-in (see start), to the page it started from: the sign-in
// comes back to it (a poll link from Discord opens that poll once signed in).
const SIGNING_IN = "sc_signing_in";
const $ = (id) => document.getElementById(id);
const state = { access: localStorage.getItem("sc_access"), refresh: localStorage.getItem("sc_refresh"), poll: null, me: null };
const MY_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; // new polls' zone
const socket = new TenantSocket("/seacalendar", () => state.access);

function saveTokens(access, refresh) {
  state.access = access;
  state.refresh = refresh;
  localStorage.setItem("sc_access", access);
  localStorage.setItem("sc_refresh", refresh);
}

function signOut(note = "") {
  localStorage.removeItem("sc_access");
  localStorage.removeItem("sc_refresh");
  state.access = state.refresh = state.me = null;
  socket.close(); // a signed-out page has nothing to watch, and no token to reconnect with
  $("who").textContent = "";
  $("account-link").hidden = $("sign-out").hidden = true;
  $("signed-out-note").textContent = note;
  show("signed-out");
}

// Another tab of this site refreshed the tokens (this tab's refresh token is spent then: used
// after the short grace it would be taken for theft, ending the sign-in everywhere) or signed out.
window.addEventListener("storage", (event) => {
  if (event.storageArea !== localStorage || ![null, "sc_access", "sc_refresh"].includes(event.key)) return;
  const access = localStorage.getItem("sc_access"), refresh = localStorage.getItem("sc_refresh");
  if (!refresh && state.refresh) {
    signOut("You signed out in another tab.");
    return;
  }
  state.access = access;
  state.refresh = refresh;
});

async function logOut() {
  // Revoked at the server too: a refresh token left in this browser's storage would otherwise
  // sign the next user of this computer in as us for a month.
  const refresh = state.refresh;
  signOut("You are signed out.");
  history.replaceState(null, "", location.pathname);
  try {
    await fetch(`${API}/auth/logout`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token: refresh }),
    });
  } catch (error) { /* offline: the tokens are gone from this browser all the same */ }
}

async function refreshTokens() {
  // The stored token, not this tab's copy: another tab may have rotated it a moment ago.
  const refresh = localStorage.getItem("sc_refresh");
  if (!refresh) return false;
  const answer = await fetch(`${API}/auth/refresh`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: refresh }),
  });
  if (!answer.ok) return false;
  const body = await answer.json();
  saveTokens(body.access_token, body.refresh_token);
  return true;
}

async function api(path, options = {}, retried = false) {
  const headers = { Authorization: `Bearer ${state.access}`, ...(options.body ? { "Content-Type": "application/json" } : {}) };
  const answer = await fetch(API + path, { ...options, headers });
  const type = answer.headers.get("content-type") || "";
  const body = answer.status === 204 ? null : type.includes("json") ? await answer.json() : await answer.blob();
  const code = body && body.error ? body.error.code : null;
  // A wrong current password is an answer to the form, not a sign-in that ended.
  if (answer.status === 401 && code !== "invalid_credentials") {
    if (!retried && await refreshTokens()) return api(path, options, true);
    // Said on the sign-in page: the form that asked is hidden now, and its error line with it.
    signOut("Your sign-in has ended: sign in again to carry on where you were.");
    throw new Error("Please sign in again.");
  }
  if (!answer.ok) throw Object.assign(new Error(errorText(body, answer.status)), { code });
  return body;
}

function errorText(body, status) {
  if (!body || !body.error) return `The server answered ${status}; try again in a moment.`;
  // "The request is not valid." alone doesn't say what to fix: the details name each field.
  const { message, details } = body.error;
  if (!Array.isArray(details) || !details.every((d) => d.field && d.message)) return message;
  return [message, ...details.map((d) => `${d.field}: ${d.message}`)].join(" ");
}

function show(section) {
  for (const id of ["signed-out", "home", "poll", "account"]) $(id).hidden = id !== section;
}

function optionLabel(option) {
  if (!option.date) return option.label;
  let text = new Date(`${option.date}T00:00:00`).toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric" });
  if (option.start_time) text += " " + option.start_time.slice(0, 5);
  if (option.end_time) text += "–" + option.end_time.slice(0, 5);
  return option.label ? `${text} ${option.label}` : text;
}

async function showHome() {
  socket.leaveAll();
  show("home");
  const { polls } = await api("/polls");
  $("polls").replaceChildren(...polls.map((poll) => {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = `#poll=${poll.id}`;
    link.textContent = poll.title;
    item.append(link, ` — ${poll.status}, ${poll.voters} voted${poll.has_voted ? " (you too)" : ""}`);
    return item;
  }));
  if (!polls.length) $("polls").textContent = "No polls yet.";
}

// The API reads times as HH:MM; "9:00" is how people write nine o'clock.
const hhmm = (time) => (time ? time.padStart(5, "0") : null);

function parseDates(text) {
  const now = new Date(); // today in this browser's time zone, the poll's
  const today = [now.getFullYear(), now.getMonth() + 1, now.getDate()].map((n) => String(n).padStart(2, "0")).join("-");
  const seen = new Set();
  return text.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
    const match = line.match(/^(\d{4}-\d{2}-\d{2})(?:\s+(\d{1,2}:\d{2})(?:\s*-\s*(\d{1,2}:\d{2}))?)?$/);
    if (!match) throw new Error(`Not a date: ${line}`);
    // Both would make options nobody can pick sensibly: a day gone, or one split in two tallies.
    if (match[1] < today) throw new Error(`This date has passed: ${line}`);
    const option = { date: match[1], start_time: hhmm(match[2]), end_time: hhmm(match[3]) };
    const key = JSON.stringify(option);
    if (seen.has(key)) throw new Error(`Listed twice: ${line}`);
    seen.add(key);
    return option;
  });
}

async function createPoll(event) {
  event.preventDefault();
  const form = event.target;
  $("create-error").textContent = "";
  try {
    const body = {
      title: form.title.value,
      description: form.description.value,
      options: parseDates(form.dates.value),
      invitees: form.invitees.value.split(",").map((s) => s.trim()).filter(Boolean),
      is_private: !form.public.checked,
      timezone: MY_ZONE,
    };
    // The API takes it, and then nobody but its creator can see it: not what anyone asking means.
    if (body.is_private && !body.invitees.length) {
      throw new Error("Invite someone, or let anyone with the link vote: otherwise only you can see this poll.");
    }
    if (form.deadline.value) body.voting_deadline = new Date(form.deadline.value).toISOString();
    const poll = await api("/polls", { method: "POST", body: JSON.stringify(body) });
    form.reset();
    location.hash = `poll=${poll.id}`;
  } catch (error) {
    $("create-error").textContent = error.message;
  }
}

const deadlinePassed = (poll) => poll.voting_deadline !== null && new Date(poll.voting_deadline) <= new Date();

function renderMeta(poll) {
  // A deadline is news while the poll takes votes; "finalized, closes …" read as still open.
  const deadline = !(poll.voting_deadline && poll.status === "voting") ? ""
    : deadlinePassed(poll) ? ", voting closed" : `, closes ${new Date(poll.voting_deadline).toLocaleString()}`;
  // The options' times are wall-clock times where the poll was made: 19:00 in Paris is not 19:00
  // for a voter in New York, who is told whose clock they read.
  const zone = poll.timezone !== MY_ZONE && poll.options.some((o) => o.start_time) ? ` · times are ${poll.timezone} time` : "";
  $("poll-meta").textContent = `${poll.status}${deadline} · by ${poll.creator.display_name} · ${poll.tally.voters} voted${zone}`;
}

function renderTally(tally) {
  renderMeta(state.poll); // its count of voters moves with the tally
  const most = Math.max(1, ...tally.options.map((o) => o.available + o.maybe));
  for (const count of tally.options) {
    const cell = document.querySelector(`[data-tally="${count.option_id}"]`);
    if (!cell) continue;
    cell.querySelector(".bar").style.width = `${(100 * count.available) / most}%`;
    cell.querySelector(".maybe").style.width = `${(100 * count.maybe) / most}%`;
    cell.querySelector("span").textContent = `✅ ${count.available} · 🤔 ${count.maybe}`;
  }
}

function renderPoll(poll) {
  state.poll = poll;
  $("poll-title").textContent = poll.title;
  $("poll-description").textContent = poll.description;
  $("vote-saved").textContent = "";
  const mine = poll.my_vote || { available: [], maybe: [], note: "" };
  $("options").replaceChildren(...poll.options.map((option) => {
    const row = document.createElement("tr");
    const chosen = option.id === poll.finalized_option_id ? " 🏆" : "";
    row.innerHTML = `<td></td><td><input type="checkbox" data-kind="available"></td>
      <td><input type="checkbox" data-kind="maybe"></td>
      <td data-tally="${option.id}"><div class="bar"></div><div class="bar maybe"></div><span></span></td>`;
    row.cells[0].textContent = optionLabel(option) + chosen;
    row.dataset.option = option.id;
    const available = row.querySelector('[data-kind="available"]');
    const maybe = row.querySelector('[data-kind="maybe"]');
    available.checked = mine.available.includes(option.id);
    maybe.checked = mine.maybe.includes(option.id);
    // A checkbox alone in its cell has no name to read out: say which option and which answer.
    available.setAttribute("aria-label", `Available: ${optionLabel(option)}`);
    maybe.setAttribute("aria-label", `Maybe: ${optionLabel(option)}`);
    // One answer per option: the API refuses a vote with both.
    available.addEventListener("change", () => { if (available.checked) maybe.checked = false; });
    maybe.addEventListener("change", () => { if (maybe.checked) available.checked = false; });
    return row;
  }));
  $("note").value = mine.note;
  renderTally(poll.tally);
  const open = poll.status === "voting";
  $("vote-form").hidden = false;
  // Closed (finalised, cancelled, or its deadline passed before the bot marked it): the boxes
  // and the button looked as usable as ever, and a click did nothing, or got a 409.
  $("ballot").disabled = !open || deadlinePassed(poll);
  $("creator-actions").hidden = !(poll.is_creator && (open || poll.status === "expired"));
  $("ics").hidden = poll.status !== "finalized" || poll.type !== "event";
  $("memories").hidden = poll.status !== "finalized";
  $("memory-list").replaceChildren();
  if (poll.status === "finalized") loadMemories(poll.id);
}

function addMemoryItem(memory) {
  // Once: the page's own addition arrives both as the answer and as the live event.
  if (document.querySelector(`[data-memory="${memory.id}"]`)) return;
  const item = document.createElement("li");
  item.dataset.memory = memory.id;
  const who = document.createElement("strong");
  who.textContent = `${memory.author.display_name}: `;
  item.append(who);
  if (memory.text) item.append(memory.text, " ");
  if (memory.url) {
    const link = document.createElement("a");
    link.href = memory.url;
    link.textContent = memory.url;
    link.rel = "noopener noreferrer nofollow";
    link.target = "_blank";
    item.append(link);
  }
  if (state.me && (memory.author.id === state.me.id || state.poll.is_creator)) {
    const remove = document.createElement("button");
    remove.className = "secondary";
    remove.textContent = "Remove";
    remove.addEventListener("click", () => removeMemory(memory.id));
    item.append(" ", remove);
  }
  $("memory-list").append(item);
}

async function removeMemory(id) {
  $("memory-error").textContent = "";
  try {
    await api(`/polls/${state.poll.id}/memories/${id}`, { method: "DELETE" });
    document.querySelector(`[data-memory="${id}"]`)?.remove();
  } catch (error) { $("memory-error").textContent = error.message; }
}

async function loadMemories(pollId) {
  try {
    const { memories } = await api(`/polls/${pollId}/memories`);
    if (!state.poll || state.poll.id !== pollId) return;
    $("memory-list").replaceChildren();
    memories.forEach(addMemoryItem);
  } catch (error) { $("memory-error").textContent = error.message; }
}

async function addMemory(event) {
  event.preventDefault();
  const form = event.target;
  $("memory-error").textContent = "";
  const text = form.text.value.trim();
  const url = form.url.value.trim();
  const body = url ? { kind: "link", url, text } : { kind: "note", text };
  try {
    addMemoryItem(await api(`/polls/${state.poll.id}/memories`, { method: "POST", body: JSON.stringify(body) }));
    form.reset();
  } catch (error) { $("memory-error").textContent = error.message; }
}

function clearPoll(title, note) {
  // No poll to show: say why rather than leave a form (the last poll's, or an empty one) whose
  // votes would 404.
  socket.leaveAll();
  state.poll = null;
  $("poll-title").textContent = title;
  $("poll-meta").textContent = note;
  $("poll-description").textContent = "";
  $("options").replaceChildren();
  $("vote-form").hidden = $("creator-actions").hidden = $("ics").hidden = $("memories").hidden = true;
}

function showDeleted() {
  clearPoll("Poll deleted", "This poll was deleted, with its votes, when its creator deleted their account.");
}

async function showAccount() {
  socket.leaveAll();
  show("account");
  $("delete-error").textContent = "";
  $("reauth").hidden = true;
  state.me = await api("/users/me");
  $("account-name").textContent = state.me.display_name + (state.me.username ? ` (signs in as ${state.me.username} too)` : "");
  // Only an account with a password can prove itself with one; a Discord-only one signs in again.
  $("delete-password").hidden = !state.me.has_password;
  $("delete-account").current_password.required = state.me.has_password;
}

async function deleteAccount(event) {
  event.preventDefault();
  const form = event.target;
  $("delete-error").textContent = "";
  $("reauth").hidden = true;
  const password = form.current_password.value;
  try {
    const options = { method: "DELETE", ...(password ? { body: JSON.stringify({ current_password: password }) } : {}) };
    await api("/users/me", options);
  } catch (error) {
    if (error.code === "reauth_required") {
      $("delete-error").textContent = "To delete your account, sign in again first (you come back to this page).";
      $("reauth").hidden = false;
    } else $("delete-error").textContent = error.message;
    return;
  }
  form.reset();
  signOut("Your account and its data were deleted.");
  history.replaceState(null, "", location.pathname);
}

async function showPoll(id) {
  show("poll");
  $("poll-error").textContent = "";
  socket.leaveAll();
  let poll;
  try { poll = await api(`/polls/${id}`); } catch (error) {
    clearPoll("", ""); // the message shows above the page
    throw error;
  }
  renderPoll(poll);
  const joined = await socket.join(`poll:${id}`);
  if (!joined.ok) $("live").textContent = "live updates unavailable";
}

async function vote(event) {
  event.preventDefault(); // a form, so that Enter in the note saves the vote too
  const rows = [...$("options").rows];
  const pick = (kind) => rows.filter((r) => r.querySelector(`[data-kind="${kind}"]`).checked).map((r) => Number(r.dataset.option));
  $("vote-saved").textContent = "";
  try {
    const body = { available: pick("available"), maybe: pick("maybe"), note: $("note").value };
    const answer = await api(`/polls/${state.poll.id}/vote`, { method: "POST", body: JSON.stringify(body) });
    $("poll-error").textContent = "";
    // The answer's tally, not only the live event's: without a live connection nothing moved.
    if (state.poll && state.poll.id === answer.poll_id) {
      state.poll.tally = answer.tally;
      state.poll.my_vote = answer.vote;
      renderTally(answer.tally);
      $("vote-saved").textContent = "Vote saved.";
    }
  } catch (error) {
    $("poll-error").textContent = error.message;
  }
}

async function finalize() {
  const leader = [...state.poll.tally.options].sort((a, b) => (b.available - a.available) || (b.maybe - a.maybe))[0];
  // Neither can be undone, and one slip of a finger on a phone did it: ask first, naming the date.
  const option = state.poll.options.find((o) => o.id === leader.option_id);
  if (!confirm(`Finalise "${optionLabel(option)}"? Voting ends for everyone.`)) return;
  try {
    renderPoll(await api(`/polls/${state.poll.id}/finalize`, { method: "POST", body: JSON.stringify({ option_id: leader.option_id }) }));
  } catch (error) { $("poll-error").textContent = error.message; }
}

async function cancelPoll() {
  if (!confirm(`Cancel "${state.poll.title}"? Voting ends and it can't be reopened.`)) return;
  try { renderPoll(await api(`/polls/${state.poll.id}/cancel`, { method: "POST" })); }
  catch (error) { $("poll-error").textContent = error.message; }
}

async function downloadIcs() {
  $("poll-error").textContent = "";
  let blob;
  try { blob = await api(`/polls/${state.poll.id}/event.ics`); }
  catch (error) { $("poll-error").textContent = error.message; return; }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `seacalendar-${state.poll.id}.ics`;
  link.click();
  URL.revokeObjectURL(link.href);
}

async function route() {
  $("page-error").textContent = "";
  if (!state.access) return show("signed-out");
  const match = location.hash.match(/poll=(\d+)/);
  try {
    await (match ? showPoll(match[1]) : location.hash === "#account" ? showAccount() : showHome());
  } catch (error) {
    // Above every section: the poll's own error line is hidden on the home and account pages.
    // (A sign-in that ended says so on the sign-in page instead.)
    if (state.access) $("page-error").textContent = error.message;
  }
}

async function start() {
  // The sign-in callback hands the tokens over in the fragment, which never reaches a server.
  // Only after a sign-in this tab started: a link carrying someone else's tokens would sign us
  // into their account.
  const fragment = new URLSearchParams(location.hash.slice(1));
  const started = sessionStorage.getItem(SIGNING_IN);
  if (fragment.get("access_token")) {
    if (started !== null) saveTokens(fragment.get("access_token"), fragment.get("refresh_token"));
    history.replaceState(null, "", location.pathname + (started || ""));
  }
  sessionStorage.removeItem(SIGNING_IN);
  if (state.access) {
    try {
      state.me = await api("/users/me");
      $("who").textContent = state.me.display_name;
      $("account-link").hidden = $("sign-out").hidden = false;
    } catch (error) { /* signOut already showed the sign-in page */ }
  }
  socket.onstatus = (text) => { $("live").textContent = text; };
  socket.onrefused = refreshTokens;
  socket.onreconnect = async () => {
    if (!state.poll || $("poll").hidden) return;
    try {
      const poll = await api(`/polls/${state.poll.id}`);
      // Only the tally, unless the poll itself changed: unsaved ticks in the vote form stay.
      if (poll.status !== state.poll.status || poll.updated_at !== state.poll.updated_at) renderPoll(poll);
      else {
        state.poll.tally = poll.tally;
        renderTally(poll.tally);
        if (poll.status === "finalized") loadMemories(poll.id); // any added or removed meanwhile
      }
    } catch (error) {
      // Deleted while we were away (its poll_deleted never reached us), or no longer ours to see.
      if (error.code === "not_found") clearPoll("Poll gone", "This poll was deleted, or you may no longer see it.");
      else $("poll-error").textContent = error.message;
    }
  };
  socket.on("vote_updated", (data) => {
    if (state.poll && data.poll_id === state.poll.id) { state.poll.tally = data.tally; renderTally(data.tally); }
  });
  socket.on("poll_deleted", (data) => { if (state.poll && data.poll_id === state.poll.id) showDeleted(); });
  socket.on("memory_added", (data) => { if (state.poll && data.poll_id === state.poll.id) addMemoryItem(data); });
  socket.on("memories_removed", (data) => {
    if (!state.poll || data.poll_id !== state.poll.id) return;
    for (const id of data.memory_ids) document.querySelector(`[data-memory="${id}"]`)?.remove();
  });
  for (const name of ["poll_finalized", "poll_updated", "poll_cancelled", "poll_expired"]) {
    socket.on(name, (data) => { if (state.poll && data.poll_id === state.poll.id) route(); });
  }
  if (state.access) socket.open();
  for (const id of ["sign-in", "reauth"]) $(id).addEventListener("click", () => sessionStorage.setItem(SIGNING_IN, location.hash));
  $("sign-out").addEventListener("click", logOut);
  $("delete-account").addEventListener("submit", deleteAccount);
  $("create").addEventListener("submit", createPoll);
  $("vote-form").addEventListener("submit", vote);
  $("finalize").addEventListener("click", finalize);
  $("memory-form").addEventListener("submit", addMemory);
  $("cancel").addEventListener("click", cancelPoll);
  $("ics").addEventListener("click", downloadIcs);
  window.addEventListener("hashchange", route);
  await route();
}

start();
