// StarMeet join wizard: link Mastodon, enter birth data, see D1/D9 charts, browse matches.
"use strict";

const API = "/astro/api";
const $ = (selector) => document.querySelector(selector);
let profile = null;
let pendingPlace = null; // a candidate picked after an ambiguous city
// What was saved, so saving again (another visibility, say) doesn't ask again which Paris or
// which of a repeated hour was meant: {geonameid, city, country} and {date, time, fold}.
let savedPlace = null;
let savedMoment = null;

function tokens() {
  return { access: localStorage.getItem("astro.access"), refresh: localStorage.getItem("astro.refresh") };
}

function keepTokens(access, refresh) {
  localStorage.setItem("astro.access", access);
  localStorage.setItem("astro.refresh", refresh);
}

function forgetTokens() {
  localStorage.removeItem("astro.access");
  localStorage.removeItem("astro.refresh");
}

function say(text, isError) {
  const box = $("#message");
  box.hidden = !text;
  box.textContent = text || "";
  box.className = isError ? "error" : "";
}

async function refreshTokens() {
  const { refresh } = tokens();
  if (!refresh) return false;
  const response = await fetch(`${API}/auth/refresh`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token: refresh }),
  }).catch(() => null);
  if (!response) return false; // unreachable: the tokens may still be good
  if (!response.ok) { forgetTokens(); return false; }
  const body = await response.json();
  keepTokens(body.access_token, body.refresh_token);
  return true;
}

// An answer in the API's error shape, for failures the API itself could not describe.
function failure(status, message) { return { status, body: { error: { code: "ui", message } } }; }

/** A JSON API call with the access token; refreshes once on 401. Returns {status, body}, and
 * {status: 0} when the server can't be reached: callers show body.error.message either way. */
async function call(method, path, payload, retried) {
  const headers = { Accept: "application/json" };
  const signedIn = Boolean(tokens().access);
  if (signedIn) headers.Authorization = `Bearer ${tokens().access}`;
  if (payload !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, {
    method, headers, body: payload === undefined ? undefined : JSON.stringify(payload),
  }).catch(() => null);
  if (!response) return failure(0, "The server could not be reached. Check your connection and try again.");
  if (response.status === 401 && !retried && await refreshTokens()) return call(method, path, payload, true);
  if (response.status === 401 && signedIn && !tokens().access) {
    // The refresh was refused (signed out elsewhere, account deleted): back to the first step.
    showSignedOut();
    return failure(401, "Your session ended; please sign in again.");
  }
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  // A proxy's error page (502 from nginx) is not JSON.
  if (!response.ok && !body?.error) return failure(response.status, `The server answered ${response.status}; try again.`);
  return { status: response.status, body };
}

function showSignedOut() {
  profile = null;
  for (const id of ["#who", "#step-birth", "#step-chart", "#step-matches"]) show(id, false);
  show("#step-link", true);
}

// Set when this tab starts a sign-in: tokens in a link someone sent (theirs, to sign us into
// their account) are not taken.
const SIGNING_IN = "astro.signingIn";

function takeTokensFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get("access_token")) {
    if (sessionStorage.getItem(SIGNING_IN)) keepTokens(params.get("access_token"), params.get("refresh_token"));
    history.replaceState(null, "", location.pathname); // the tokens leave the address bar at once
  }
  sessionStorage.removeItem(SIGNING_IN);
}

function show(id, visible) { $(id).hidden = !visible; }

async function linkAccount(event) {
  event.preventDefault();
  const instance = new FormData(event.target).get("instance");
  const { status, body } = await call("GET", `/auth/mastodon?instance=${encodeURIComponent(instance)}`);
  if (status === 200) {
    sessionStorage.setItem(SIGNING_IN, "1");
    location.assign(body.authorize_url);
  }
  else say(body.error.message, true);
}

function birthPayload(form, extra) {
  const data = new FormData(form);
  const unknown = data.get("time_unknown") === "on";
  let place;
  const sameCity = savedPlace && data.get("city") === savedPlace.city && data.get("country") === savedPlace.country;
  if (pendingPlace) place = { geonameid: pendingPlace };
  else if (data.get("place_kind") === "coords") place = { lat: Number(data.get("lat")), lon: Number(data.get("lon")) };
  else if (sameCity) place = { geonameid: savedPlace.geonameid };
  else place = data.get("country") ? { city: data.get("city"), country: data.get("country") } : { city: data.get("city") };
  const payload = { birth_date: data.get("birth_date"), birth_place: place, visibility: data.get("visibility") };
  if (unknown) payload.time_known = false;
  else payload.birth_time = data.get("birth_time");
  const sameMoment = savedMoment && !unknown && payload.birth_date === savedMoment.date && payload.birth_time === savedMoment.time;
  if (sameMoment && savedMoment.fold !== null) payload.fold = savedMoment.fold;
  return { ...payload, ...extra };
}

function offerChoices(title, items, onPick) {
  const box = $("#choices");
  box.replaceChildren();
  const heading = document.createElement("p");
  heading.textContent = title;
  box.appendChild(heading);
  for (const item of items) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "choice";
    button.textContent = item.text;
    button.addEventListener("click", () => { box.hidden = true; onPick(item.value); });
    box.appendChild(button);
  }
  box.hidden = false;
}

async function saveBirth(event, extra) {
  if (event) event.preventDefault();
  const form = $("#birth-form");
  const { status, body } = await call("PUT", "/profile", birthPayload(form, extra));
  if (status === 200) {
    pendingPlace = null;
    say("Saved. Your charts are below.");
    render(body);
    return;
  }
  const error = body.error;
  // These two ask a question the buttons answer; the API's own words are for programs
  // ("send the geonameid", "send fold 0"), so the member gets ours, beside the buttons.
  if (error.code === "ambiguous_place") {
    say("");
    offerChoices("Several places have that name. Which one is it?", error.details.candidates.map((c) => ({
      text: `${c.city}, ${c.country}${c.admin1 ? " " + c.admin1 : ""} (${c.timezone})`, value: c.geonameid,
    })), (id) => { pendingPlace = id; saveBirth(null, extra); });
    return;
  }
  if (error.code === "ambiguous_local_time") {
    say("");
    const which = ["The first", "The second"];
    offerChoices("That time happened twice that night (the clocks went back). Which one?",
      error.details.candidates.map((c) => ({ text: `${which[c.fold]} (UTC${c.utc_offset})`, value: c.fold })),
      (fold) => saveBirth(null, { ...extra, fold }));
    return;
  }
  const details = (error.details && Array.isArray(error.details)) ? ` (${error.details.map((d) => `${d.field}: ${d.message}`).join("; ")})` : "";
  say(error.message + details, true);
}

function fillForm(doc) {
  const form = $("#birth-form");
  form.visibility.value = doc.visibility;
  savedPlace = null;
  savedMoment = null;
  if (!doc.birth) return;
  savedMoment = { date: doc.birth.date, time: doc.birth.time, fold: doc.birth.fold ?? null };
  form.birth_date.value = doc.birth.date;
  form.birth_time.value = doc.birth.time || "";
  form.time_unknown.checked = !doc.birth.time_known;
  toggleTime();
  const place = doc.birth_location;
  if (place.geonameid) {
    form.querySelector('input[value="city"]').checked = true;
    form.city.value = place.city; form.country.value = place.country;
    savedPlace = { geonameid: place.geonameid, city: place.city, country: place.country };
  }
  else {
    form.querySelector('input[value="coords"]').checked = true;
    form.lat.value = place.lat; form.lon.value = place.lon;
  }
  togglePlace();
}

function drawCharts() {
  if (!profile || !profile.chart) return;
  const chart = profile.chart;
  const style = $("#style").value;
  const moon = chart.d1.bodies.find((b) => b.body === "Moon");
  $("#d1").replaceChildren(window.drawChart(chart.d1, style, moon.sign_index));
  const moonD9 = chart.d9.bodies.find((b) => b.body === "Moon");
  $("#d9").replaceChildren(window.drawChart(chart.d9, style, moonD9.sign_index));
  $("#chart-note").textContent = chart.time_known
    ? `Lahiri ayanamsa ${chart.ayanamsa.degrees.toFixed(4)}°, whole-sign houses. ᴿ = retrograde.`
    : "Birth time unknown: no ascendant or houses (North style counts from the Moon); ? = may have changed sign that day.";
  const rows = chart.d1.bodies.map((b, i) => {
    const d9 = chart.d9.bodies[i];
    const deg = `${Math.floor(b.degree)}°${String(Math.floor((b.degree % 1) * 60)).padStart(2, "0")}′`;
    return [b.body + (b.retrograde ? " ᴿ" : ""), b.sign, deg, b.nakshatra, b.pada, b.house ?? "–", d9.sign];
  });
  const body = $("#positions tbody");
  body.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    for (const cell of cells) { const td = document.createElement("td"); td.textContent = String(cell); tr.appendChild(td); }
    return tr;
  }));
}

async function loadMatches() {
  const { status, body } = await call("GET", "/matches?limit=50");
  const list = $("#matches");
  list.replaceChildren();
  if (status !== 200) return;
  if (!body.matches.length) list.textContent = "No visible members yet.";
  for (const match of body.matches) {
    // A button, so the keyboard reaches each match too (a clickable <li> is skipped by Tab).
    const button = document.createElement("button");
    button.type = "button";
    button.className = "choice";
    button.textContent = `${match.member.display_name} (@${match.member.acct}) · Moon in ${match.member.moon_sign}, `
      + `${match.member.moon_nakshatra} · ${match.score}/36`;
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = `${(match.score / 36) * 120}px`;
    button.appendChild(bar);
    button.addEventListener("click", () => showMatch(match.member.id));
    const li = document.createElement("li");
    li.appendChild(button);
    list.appendChild(li);
  }
}

async function showMatch(id) {
  const { status, body } = await call("GET", `/match/${id}`);
  const box = $("#match-detail");
  if (status !== 200) { say(body.error.message, true); return; }
  const table = document.createElement("table");
  table.innerHTML = "<thead><tr><th>Koota</th><th>Points</th><th>Bride side</th><th>Groom side</th></tr></thead>";
  const tbody = document.createElement("tbody");
  for (const k of body.kootas) {
    const tr = document.createElement("tr");
    for (const cell of [k.koota, `${k.points} / ${k.max}`, k.bride, k.groom]) {
      const td = document.createElement("td"); td.textContent = cell; tr.appendChild(td);
    }
    tbody.appendChild(tr);
  }
  table.appendChild(tbody);
  const title = document.createElement("p");
  title.textContent = `With ${body.member.display_name}: ${body.score} of 36 (you on the ${body.viewer_as}'s side, `
    + "the better of both ways)" + (body.uncertain ? " — a Moon is uncertain (birth time unknown)." : ".");
  box.replaceChildren(title, table);
  box.hidden = false;
}

function render(doc) {
  profile = doc;
  $("#acct").textContent = `@${doc.mastodon.acct}`;
  showAvatar(doc.mastodon.avatar || "");
  show("#who", true);
  show("#step-link", false);
  show("#step-birth", true);
  show("#forget", Boolean(doc.birth)); // nothing to delete before anything is saved
  fillForm(doc);
  show("#step-chart", Boolean(doc.chart));
  show("#step-matches", Boolean(doc.chart));
  drawCharts();
  if (doc.chart) loadMatches();
}

// Shown once it has loaded: an instance's avatar URL can be gone, and a broken image is noise.
function showAvatar(url) {
  const img = $("#avatar");
  if (img.dataset.url === url) return;
  img.dataset.url = url;
  img.hidden = true;
  if (url) img.src = url;
  else img.removeAttribute("src");
}

function togglePlace() {
  const form = $("#birth-form");
  const coords = form.place_kind.value === "coords";
  show("#place-coords", coords);
  show("#place-city", !coords);
  // Only the shown kind is asked for: an empty longitude once went out as 0 (Number("")).
  form.lat.required = form.lon.required = coords;
  form.city.required = !coords;
  pendingPlace = null;
}

// The time box follows its checkbox, also when the form is filled from a saved profile.
function toggleTime() {
  const form = $("#birth-form");
  form.birth_time.disabled = form.time_unknown.checked;
  form.birth_time.required = !form.time_unknown.checked;
}

async function start() {
  takeTokensFromFragment();
  $("#link-form").addEventListener("submit", linkAccount);
  $("#birth-form").addEventListener("submit", (e) => saveBirth(e, {}));
  $("#birth-form").addEventListener("change", (e) => { if (e.target.name === "place_kind") togglePlace(); });
  // A city picked from the choices is for the name it was asked about: typing another forgets it.
  $("#place-city").addEventListener("input", () => { pendingPlace = null; show("#choices", false); });
  $("#birth-form").time_unknown.addEventListener("change", toggleTime);
  togglePlace();
  toggleTime();
  $("#style").addEventListener("change", drawCharts);
  $("#avatar").addEventListener("load", () => show("#avatar", true));
  $("#avatar").addEventListener("error", () => show("#avatar", false));
  $("#forget").addEventListener("click", async () => {
    if (!confirm("Delete your birth data and charts?")) return;
    const { status, body } = await call("DELETE", "/profile");
    if (status !== 204) { say(body.error.message, true); return; }
    say("Your birth data and charts are deleted.");
    render((await call("GET", "/profile")).body);
  });
  $("#signout").addEventListener("click", async () => {
    if (tokens().refresh) await call("POST", "/auth/logout", { refresh_token: tokens().refresh });
    forgetTokens();
    location.reload();
  });
  $("#delete-account").addEventListener("click", async () => {
    if (!confirm("Delete your StarMeet account: your Mastodon link, birth data and charts?")) return;
    const { status, body } = await call("DELETE", "/account");
    if (status !== 204) { say(body.error.message, true); return; }
    forgetTokens();
    location.reload();
  });
  if (!tokens().access) { show("#step-link", true); return; }
  const { status, body } = await call("GET", "/profile");
  if (status === 200) render(body);
  // Only a refused token signs out: a server down for a moment must not cost the sign-in.
  else if (status === 401) { forgetTokens(); show("#step-link", true); }
  else say(body.error.message, true);
}

document.addEventListener("DOMContentLoaded", start);
