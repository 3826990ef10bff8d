// Wishlist web UI, API client: tokens in sessionStorage (per tab, gone when it closes), one
// refresh on 401 shared by concurrent requests, errors as ApiError with the server's message.

const API = new URL("api/", location.href.split("#")[0]).pathname;
const STORE = "wishlist.session";
// Their 401 is the answer itself (wrong password, spent token), not an access token to renew.
const SIGN_IN = /^auth\/(login|register|refresh|logout)$/;

// A duplicated tab (or one opened from this one) starts with a copy of this tab's sessionStorage:
// the same sign-in, the same refresh token. Once one of them rotates it, the other's copy is spent,
// and using it after the server's short grace is taken for theft, signing both out. So the tabs of
// one sign-in (`sid`) tell each other every change, numbered (`n`) so a late or stale copy never
// replaces a newer one, and a tab that starts asks its peers for the latest.
const peers = typeof BroadcastChannel === "function" ? new BroadcastChannel(STORE) : null;

export function session() {
  try { return JSON.parse(sessionStorage.getItem(STORE)) || null; } catch { return null; }
}

// Not crypto.randomUUID: that needs a secure context, and the UI also runs over plain HTTP.
function randomId() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function store(state) {
  sessionStorage.setItem(STORE, JSON.stringify(state));
  peers?.postMessage({ type: "state", state });
}

// A new pair: a rotation or a password change continues this tab's sign-in, a sign-in starts one.
export function saveSession(pair) {
  const current = session();
  const continues = current && current.sid && current.user.id === pair.user.id;
  store({
    user: pair.user, access: pair.access_token, refresh: pair.refresh_token,
    sid: continues ? current.sid : randomId(), n: continues ? (current.n || 0) + 1 : 0,
  });
}
export function clearSession() {
  const current = session();
  sessionStorage.removeItem(STORE);
  if (current?.sid) peers?.postMessage({ type: "ended", sid: current.sid });
}
// The account changed (name, email): keep the tokens, show the new details.
export function saveUser(user) {
  const current = session();
  if (current) store({ ...current, user, n: (current.n || 0) + 1 });
}

// What another tab of this sign-in changed reaches this one as a "wishlist:session" event
// ({detail: "changed" | "ended"}) for the page to redraw.
peers?.addEventListener("message", ({ data }) => {
  const current = session();
  if (!current?.sid || !data) return;
  if (data.type === "ask" && data.sid === current.sid) peers.postMessage({ type: "state", state: current });
  else if (data.type === "state" && data.state?.sid === current.sid) {
    if (data.state.n > (current.n || 0)) {
      sessionStorage.setItem(STORE, JSON.stringify(data.state));
      dispatchEvent(new CustomEvent("wishlist:session", { detail: "changed" }));
    } else if (data.state.n < (current.n || 0)) {
      peers.postMessage({ type: "state", state: current }); // that tab woke up behind: catch it up
    }
  } else if (data.type === "ended" && data.sid === current.sid) {
    sessionStorage.removeItem(STORE);
    dispatchEvent(new CustomEvent("wishlist:session", { detail: "ended" }));
  }
});
if (session()?.sid) peers?.postMessage({ type: "ask", sid: session().sid });

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
    const now = session();
    // Signed out (or in as someone else) meanwhile: don't bring the old session back. A peer tab's
    // newer tokens arrived meanwhile: use those.
    if (now?.sid !== current.sid || now?.user.id !== current.user.id) return false;
    if (now.refresh !== current.refresh) return true;
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
