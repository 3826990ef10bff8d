// Wishlist web UI, forgotten passwords: #/forgot asks for a link by email, #/reset/<token>
// (the mailed link) sets a new password and signs in. app.js passes in `guarded` and `signedIn`.

import { api, saveSession } from "./api.js";
import { field, flash, formValues, h, show } from "./dom.js";

let available = null;

// Whether this server can mail reset links (asked once per page load); the sign-in form shows
// its "Forgot password?" link only then.
export function resetAvailable() {
  available = available || api("GET", "auth/password-reset").then((doc) => doc.available, () => false);
  return available;
}

export function forgotView(guarded) {
  const form = h("form", { class: "card", id: "forgot", onsubmit: guarded(async (e) => {
    await api("POST", "auth/password-reset", formValues(e.target));
    // The same words whether or not the account exists: the server tells nothing either.
    show(h("h1", {}, "Check your email"),
      h("p", { class: "card", id: "forgot-sent" },
        "If an account exists for that email, we sent it a link to choose a new password. It works for an hour."),
      h("a", { href: "#/" }, "Back to sign in"));
  }) },
  h("h2", {}, "Forgot your password?"),
  h("p", { class: "muted" }, "Enter your account's email and we'll send you a link to choose a new one."),
  field("Email", h("input", { name: "email", type: "email", required: true, autocomplete: "email" })),
  h("button", { type: "submit" }, "Send the link"));
  show(h("h1", {}, "Reset your password"), form, h("a", { href: "#/" }, "Back to sign in"));
}

export function resetView(guarded, token, signedIn) {
  const form = h("form", { class: "card", id: "reset", onsubmit: guarded(async (e) => {
    const { new_password } = formValues(e.target);
    saveSession(await api("POST", "auth/password-reset/confirm", { token, new_password }));
    // The link is spent: take it out of the address bar and history (no hashchange fires).
    history.replaceState(null, "", "#/");
    await signedIn();
    flash("Password changed. You were signed out everywhere else.", "info");
  }) },
  h("h2", {}, "Choose a new password"),
  field("New password (8+ characters, mix letters and digits or symbols)",
    h("input", { name: "new_password", type: "password", required: true, minlength: 8, autocomplete: "new-password" })),
  h("button", { type: "submit" }, "Set password and sign in"));
  show(h("h1", {}, "Reset your password"), form,
    h("p", { class: "muted" }, "Link expired or already used? ", h("a", { href: "#/forgot" }, "Ask for a new one"), "."));
}
