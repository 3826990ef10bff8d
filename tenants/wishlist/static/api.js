// Wishlist web UI, API client: tokens in sessionStorage (per tab, gone when it closes), one
// refresh on 401 shared by concurrent requests, errors as ApiError with the server's message.

const API = new URL("api/", location.href.split("#")[0]).pathname;
const STORE = "wishlist.session";
// Their 401 is the answer itself (wrong password, spent token), not an access token to renew.
const SIGN_IN = /^auth\/(login|register|refresh|logout)$/;

export function session() {
  try { return JSON.parse(sessionStorage.getItem(STORE)) || null; } catch { return null; }
}
export function saveSession(pair) {
  sessionStorage.setItem(STORE, JSON.stringify({
    user: pair.user, access: pair.access_token, refresh: pair.refresh_token,
  }));
}
export function clearSession() { sessionStorage.removeItem(STORE); }
// The account changed (name, email): keep the tokens, show the new details.
export function saveUser(user) {
  const current = session();
  if (current) sessionStorage.setItem(STORE, JSON.stringify({ ...current, user }));
}

class ApiError extends Error {
  constructor(status, body, sessionEnded) {
    const error = (body && body.error) || {};
    const details = (error.details || []).map((d) => `${d.field}: ${d.message}`).join("; ");
    super((error.message || `HTTP ${status}`) + (details ? ` (${details})` : ""));
    this.status = status;
    this.code = error.code;
    // Only a request that carried a session can end one: a 401 from sign-in itself (a wrong
    // password) is the answer to show.
    this.sessionEnded = sessionEnded;
  }
}

let refreshing = null;

// One refresh at a time: concurrent 401s wait for the same rotation (a second use would be a replay).
async function refreshTokens() {
  const current = session();
  if (!current) return false;
  refreshing = refreshing || fetch(API + "auth/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: current.refresh }),
  }).then(async (response) => {
    const pair = response.ok ? await response.json() : null;
    // Signed out (or in as someone else) meanwhile: don't bring the old session back.
    if (session()?.refresh !== current.refresh) return false;
    if (!pair) { clearSession(); return false; }
    saveSession(pair);
    return true;
  }).finally(() => { refreshing = null; });
  return refreshing;
}

export async function api(method, path, body, retry = true) {
  const headers = {};
  const current = session();
  if (current) headers.Authorization = `Bearer ${current.access}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  // An expired access token is renewed once; if that fails the session is gone (see signedOut).
  if (response.status === 401 && current && retry && !SIGN_IN.test(path)) {
    if (await refreshTokens()) return api(method, path, body, false);
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data, response.status === 401 && Boolean(current) && !session());
  return data;
}
