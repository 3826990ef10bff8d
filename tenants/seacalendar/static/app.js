// SeaCalendar web UI: sign in with Discord, create and edit a poll, vote, watch the tally move live,
// and keep the event's memories (notes and links) once it is finalised. The question of the week's
// view is qotw.js and the forms' invitee picker invitees.js, both loaded first.
"use strict";

const API = "/seacalendar/api";
// Set when this tab starts a sign-in (see start), to the page it started from: the sign-in
// comes back to it (a poll link from Discord opens that poll once signed in).
const SIGNING_IN = "sc_signing_in";
const $ = (id) => document.getElementById(id);
const state = {
  access: localStorage.getItem("sc_access"), refresh: localStorage.getItem("sc_refresh"), poll: null, me: null,
  guild: null, question: null,
};
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
  myGuilds = null; // the servers were this account's (qotw.js)
  socket.close(); // a signed-out page has nothing to watch, and no token to reconnect with
  $("who").textContent = "";
  $("account-link").hidden = $("qotw-link").hidden = $("sign-out").hidden = true;
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
  if (!answer.ok) throw Object.assign(new Error(errorText(body, answer.status)), { code, details: body?.error?.details });
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
  for (const id of ["signed-out", "home", "poll", "qotw", "account"]) $(id).hidden = id !== section;
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
  offerPickerGuilds($("create"));
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

// One key per date and times, whether typed ("19:00") or read from the API ("19:00:00").
const optionKey = (o) => JSON.stringify([o.date, o.start_time?.slice(0, 5) ?? null, o.end_time?.slice(0, 5) ?? null]);

// `kept`: keys of a poll's existing options, which may stay though their day has passed.
function parseDates(text, kept = new Set()) {
  const now = new Date(); // today in this browser's time zone, the poll's
  const today = [now.getFullYear(), now.getMonth() + 1, now.getDate()].map((n) => String(n).padStart(2, "0")).join("-");
  const seen = new Set();
  return text.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
    const match = line.match(/^(\d{4}-\d{2}-\d{2})(?:\s+(\d{1,2}:\d{2})(?:\s*-\s*(\d{1,2}:\d{2}))?)?$/);
    if (!match) throw new Error(`Not a date: ${line}`);
    const option = { date: match[1], start_time: hhmm(match[2]), end_time: hhmm(match[3]) };
    const key = optionKey(option);
    // Both would make options nobody can pick sensibly: a day gone, or one split in two tallies.
    if (match[1] < today && !kept.has(key)) throw new Error(`This date has passed: ${line}`);
    if (seen.has(key)) throw new Error(`Listed twice: ${line}`);
    seen.add(key);
    return option;
  });
}

// A zone's wall clock, as a datetime-local input shows it: a poll's deadline is edited in the
// poll's time zone, which may not be this browser's.
function wallClock(instant, zone) {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  return Object.fromEntries(format.formatToParts(instant).map((part) => [part.type, part.value]));
}

function toZoneInput(iso, zone) {
  if (!iso) return "";
  const p = wallClock(new Date(iso), zone);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

function fromZoneInput(value, zone) {
  const wall = Date.parse(`${value}:00Z`);
  const offset = (t) => {
    const p = wallClock(new Date(t), zone);
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - t;
  };
  // The offset at the instant the first guess gives: a guess across a DST change has the other one.
  return new Date(wall - offset(wall - offset(wall))).toISOString();
}

// A generic poll's choices (made with the bot's /poll command): text, one per line.
function parseChoices(text) {
  const choices = text.split("\n").map((line) => line.trim()).filter(Boolean);
  if (!choices.length) throw new Error("Give at least one choice.");
  const long = choices.find((c) => c.length > 200);
  if (long) throw new Error(`A choice is at most 200 characters: ${long.slice(0, 40)}…`);
  const twice = choices.find((c, i) => choices.indexOf(c) !== i);
  if (twice) throw new Error(`Listed twice: ${twice}`);
  return choices.map((label) => ({ label }));
}

// The place, or null for none; an address or link alone would name nowhere.
function readVenue(form) {
  const name = form.venue_name.value.trim(), address = form.venue_address.value.trim(), url = form.venue_url.value.trim();
  if (!name && (address || url)) throw new Error("Name the place, or leave its address and link empty.");
  return name ? { name, address, url: url || null } : null;
}

const venueKey = (venue) => JSON.stringify(venue ? [venue.name, venue.address ?? "", venue.url ?? null] : null);

// The new-poll and edit forms' fields in the API's shape; `zone` is the poll's.
function readPollForm(form, zone, kept) {
  const body = {
    title: form.title.value,
    description: form.description.value,
    invitees: [...new Set([...chipIds(form), ...form.invitees.value.split(",").map((s) => s.trim()).filter(Boolean)])],
    is_private: !form.public.checked,
    voting_deadline: form.deadline.value ? fromZoneInput(form.deadline.value, zone) : null,
  };
  if (!form.dates.closest("label").hidden) body.options = parseDates(form.dates.value, kept);
  if (form.choices && !form.choices.closest("label").hidden) body.options = parseChoices(form.choices.value);
  body.venue = readVenue(form);
  // The API takes it, and then nobody but its creator can see it: not what anyone asking means.
  if (body.is_private && !body.invitees.length) {
    throw new Error("Invite someone, or let anyone with the link vote: otherwise only you can see this poll.");
  }
  return body;
}

async function createPoll(event) {
  event.preventDefault();
  const form = event.target;
  $("create-error").textContent = "";
  try {
    const body = { ...readPollForm(form, MY_ZONE), timezone: MY_ZONE };
    if (body.venue === null) delete body.venue;
    const poll = await api("/polls", { method: "POST", body: JSON.stringify(body) });
    form.reset();
    resetPicker(form);
    location.hash = `poll=${poll.id}`;
  } catch (error) {
    $("create-error").textContent = error.message;
  }
}

const deadlinePassed = (poll) => poll.voting_deadline !== null && new Date(poll.voting_deadline) <= new Date();

// The ballot closes when the deadline passes on an open page, not at the next render (a vote
// sent then got a 409). setTimeout takes at most ~24.8 days: a later deadline is looked at again.
let closing = null;
function closeAtDeadline(poll) {
  clearTimeout(closing);
  if (poll.status !== "voting" || poll.voting_deadline === null) return;
  const left = new Date(poll.voting_deadline) - Date.now();
  closing = setTimeout(() => {
    if (state.poll?.id !== poll.id) return;
    if (!deadlinePassed(poll)) return closeAtDeadline(poll);
    $("ballot").disabled = true;
    renderMeta(state.poll);
  }, Math.min(Math.max(left, 0) + 20, 2 ** 31 - 1));
}

function renderMeta(poll) {
  // A deadline is news while the poll takes votes; "finalized, closes …" read as still open.
  const deadline = !(poll.voting_deadline && poll.status === "voting") ? ""
    : deadlinePassed(poll) ? ", voting closed" : `, closes ${new Date(poll.voting_deadline).toLocaleString()}`;
  // The options' times are wall-clock times where the poll was made: 19:00 in Paris is not 19:00
  // for a voter in New York, who is told whose clock they read.
  const zone = poll.timezone !== MY_ZONE && poll.options.some((o) => o.start_time) ? ` · times are ${poll.timezone} time` : "";
  $("poll-meta").textContent = `${poll.status}${deadline} · by ${poll.creator.display_name} · ${poll.tally.voters} voted${zone}`;
}

// A tally older than the one shown is dropped: a vote's answer can arrive after the live event of
// someone's newer vote, and once overwrote it until the next event.
function takeTally(tally) {
  if (state.poll.tally && tally.version < state.poll.tally.version) return;
  state.poll.tally = tally;
  renderTally(tally);
}

// Someone invited who never signed in to SeaCalendar has no name here yet: their Discord id stands in.
const inviteeName = (invitee) => invitee.display_name ?? invitee.discord_id;

function renderVenue(venue) {
  const line = $("poll-venue");
  line.hidden = !venue;
  line.replaceChildren();
  if (!venue) return;
  line.append(`Where: ${venue.name}${venue.address ? `, ${venue.address}` : ""}`);
  if (venue.url) {
    const link = Object.assign(document.createElement("a"), { href: venue.url, textContent: "map / site", target: "_blank", rel: "noopener noreferrer" });
    line.append(" · ", link);
  }
}

// Who was invited is shown only to the creator and the invitees (the API sends null to anyone else).
function renderInvitees(invitees) {
  $("poll-invitees").hidden = !invitees?.length;
  const names = (invitees ?? []).map((i) => inviteeName(i) + (i.has_voted ? " ✓" : ""));
  $("poll-invitees").textContent = `Invited: ${names.join(", ")}`;
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
  renderVenue(poll.venue);
  renderInvitees(poll.invitees);
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
  closeAtDeadline(poll);
  followEdit(poll);
  const editable = poll.is_creator && (open || poll.status === "draft");
  $("creator-actions").hidden = !poll.is_creator;
  $("cancel").hidden = !(editable || poll.status === "expired");
  $("publish").hidden = poll.status !== "draft";
  $("edit").hidden = !editable;
  $("finalize").hidden = !(open || poll.status === "expired");
  if (!editable) $("edit-form").hidden = true;
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
  $("poll-invitees").hidden = $("poll-venue").hidden = true;
  $("vote-form").hidden = $("creator-actions").hidden = $("edit-form").hidden = $("ics").hidden = $("memories").hidden = true;
}

function showDeleted() {
  clearPoll("Poll deleted", "Its creator deleted this poll, with its votes.");
}

const dateLine = (o) => o.date + (o.start_time ? ` ${o.start_time.slice(0, 5)}` : "") + (o.end_time ? `-${o.end_time.slice(0, 5)}` : "");

// The poll as the edit form was filled from it: a save sends what the form changed from this, so a
// change made elsewhere meanwhile (the creator's other tab) is not undone by fields left alone.
let editBase = null;

// A poll_updated while the form is open refills it when nothing was typed into it yet; else it
// says so, and the save still sends only what was typed.
function followEdit(poll) {
  const form = $("edit-form");
  if (form.hidden || !editBase || editBase.id !== poll.id || editBase.updated_at === poll.updated_at) return;
  let untouched;
  try {
    untouched = !Object.keys(pollChanges(editBase, form, readPollForm(form, editBase.timezone, new Set(editBase.options.map(optionKey))))).length;
  } catch { untouched = false; } // half-typed: the creator is at it
  if (untouched) return fillEdit(poll);
  $("edit-error").textContent = "This poll was changed elsewhere while you edited it: saving sends only the fields you changed here.";
}

function openEdit() {
  fillEdit(state.poll);
  offerPickerGuilds($("edit-form"));
  $("edit-error").textContent = "";
  $("edit-form").hidden = false;
  $("edit-form").title.focus();
}

function fillEdit(poll) {
  const form = $("edit-form");
  editBase = poll;
  form.title.value = poll.title;
  form.description.value = poll.description;
  // A generic poll's choices are text: their own field, one per line.
  const event = poll.type === "event";
  $("edit-dates").hidden = !event;
  $("edit-choices").hidden = event;
  form.dates.required = event;
  form.choices.required = !event;
  form.dates.value = event ? poll.options.map(dateLine).join("\n") : "";
  form.choices.value = event ? "" : poll.options.map((o) => o.label).join("\n");
  form.venue_name.value = poll.venue?.name ?? "";
  form.venue_address.value = poll.venue?.address ?? "";
  form.venue_url.value = poll.venue?.url ?? "";
  $("edit-zone").textContent = poll.timezone;
  form.deadline.value = toZoneInput(poll.voting_deadline, poll.timezone);
  resetPicker(form);
  for (const invitee of poll.invitees || []) addChip(form, invitee.discord_id, inviteeName(invitee));
  form.invitees.value = "";
  form.public.checked = !poll.is_private;
}

// Only what the form changed: a PUT of the rest would reschedule reminders for an untouched deadline.
function pollChanges(poll, form, body) {
  const changes = {};
  for (const key of ["title", "description", "is_private"]) if (body[key] !== poll[key]) changes[key] = body[key];
  const invited = (poll.invitees || []).map((i) => i.discord_id).sort().join();
  if ([...new Set(body.invitees)].sort().join() !== invited) changes.invitees = body.invitees;
  if (form.deadline.value !== toZoneInput(poll.voting_deadline, poll.timezone)) changes.voting_deadline = body.voting_deadline;
  if (venueKey(body.venue) !== venueKey(poll.venue)) changes.venue = body.venue; // null takes it off
  if (body.options) {
    // An option kept keeps its id, and with it its votes and label (a choice is its label).
    const key = (o) => (poll.type === "event" ? optionKey(o) : o.label);
    const existing = new Map(poll.options.map((o) => [key(o), o]));
    const options = body.options.map((o) => {
      const old = existing.get(key(o));
      return old ? { ...o, id: old.id, label: old.label } : o;
    });
    if (options.map((o) => o.id ?? "new").join() !== poll.options.map((o) => o.id).join()) changes.options = options;
  }
  return changes;
}

async function putPoll(body) {
  return api(`/polls/${state.poll.id}`, { method: "PUT", body: JSON.stringify(body) });
}

async function saveEdit(event) {
  event.preventDefault();
  const form = event.target, poll = editBase;
  $("edit-error").textContent = "";
  try {
    const changes = pollChanges(poll, form, readPollForm(form, poll.timezone, new Set(poll.options.map(optionKey))));
    if (!Object.keys(changes).length) {
      form.hidden = true;
      return;
    }
    let saved;
    try { saved = await putPoll(changes); } catch (error) {
      if (error.code !== "option_has_votes") throw error;
      // Refused so that nobody's vote goes without the creator knowing: say which, and ask.
      const ids = error.details?.option_ids ?? [];
      const names = poll.options.filter((o) => ids.includes(o.id)).map(optionLabel).join(", ");
      const them = ids.length > 1 ? "them" : "it";
      $("edit-error").textContent = `Not saved: you removed ${names}, and people voted for ${ids.length > 1 ? "some of them" : "it"}.`;
      if (!confirm(`Remove ${names} and drop the votes for ${them}?`)) return;
      saved = await putPoll({ ...changes, clear_votes: true });
      $("edit-error").textContent = "";
    }
    form.hidden = true;
    renderPoll(saved);
  } catch (error) { $("edit-error").textContent = error.message; }
}

async function publish() {
  $("poll-error").textContent = "";
  try { renderPoll(await putPoll({ status: "voting" })); }
  catch (error) { $("poll-error").textContent = error.message; }
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
  if (state.poll?.id !== Number(id)) $("edit-form").hidden = true; // another poll's edits

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
      state.poll.my_vote = answer.vote;
      takeTally(answer.tally);
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

async function deletePoll() {
  const poll = state.poll;
  const memories = poll.status === "finalized" ? ", memories" : "";
  if (!confirm(`Delete "${poll.title}"? Its dates, votes${memories} and reminders go for everyone, and it can't be undone.`)) return;
  try {
    await api(`/polls/${poll.id}`, { method: "DELETE" });
    clearPoll("Poll deleted", "You deleted this poll, with its votes.");
  } catch (error) { $("poll-error").textContent = error.message; }
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
  const qotw = location.hash.match(/^#qotw(?:=(\d{1,20}))?$/);
  try {
    await (match ? showPoll(match[1]) : qotw ? showQotw(qotw[1]) : location.hash === "#account" ? showAccount() : showHome());
  } catch (error) {
    // Above every section: the poll's own error line is hidden on the home and account pages.
    // (A sign-in that ended says so on the sign-in page instead.)
    if (state.access) $("page-error").textContent = error.message;
  }
}

async function start() {
  // Both poll forms have the same invite and place fields: one copy of each, in index.html's templates.
  for (const slot of document.querySelectorAll("[data-fields]")) slot.replaceWith($(slot.dataset.fields).content.cloneNode(true));
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
      $("account-link").hidden = $("qotw-link").hidden = $("sign-out").hidden = false;
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
        takeTally(poll.tally);
        if (poll.status === "finalized") loadMemories(poll.id); // any added or removed meanwhile
      }
    } catch (error) {
      // Deleted while we were away (its poll_deleted never reached us), or no longer ours to see.
      if (error.code === "not_found") clearPoll("Poll gone", "This poll was deleted, or you may no longer see it.");
      else $("poll-error").textContent = error.message;
    }
  };
  socket.on("vote_updated", (data) => {
    if (state.poll && data.poll_id === state.poll.id) takeTally(data.tally);
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
  setUpPicker($("create"));
  setUpPicker($("edit-form"));
  $("vote-form").addEventListener("submit", vote);
  $("finalize").addEventListener("click", finalize);
  $("publish").addEventListener("click", publish);
  $("edit").addEventListener("click", openEdit);
  $("edit-close").addEventListener("click", () => { $("edit-form").hidden = true; });
  $("edit-form").addEventListener("submit", saveEdit);
  $("qotw-guild").addEventListener("submit", chooseGuild);
  $("qotw-guild").guild_pick.addEventListener("change", pickQotwGuild);
  $("qotw-config").addEventListener("submit", saveSchedule);
  $("qotw-ask").addEventListener("submit", addQuestion);
  $("qotw-answer").addEventListener("submit", answerQuestion);
  $("memory-form").addEventListener("submit", addMemory);
  $("cancel").addEventListener("click", cancelPoll);
  $("delete-poll").addEventListener("click", deletePoll);
  $("ics").addEventListener("click", downloadIcs);
  window.addEventListener("hashchange", route);
  await route();
}

start();
