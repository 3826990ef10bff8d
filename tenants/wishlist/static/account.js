// Wishlist web UI, the Account view (#/account): edit name and email, change the password,
// delete the account. app.js passes in its `guarded` (errors to the flash line) and `render`.

import { api, clearSession, saveSession, saveUser } from "./api.js";
import { field, flash, formValues, h, show } from "./dom.js";

export async function accountView(guarded, render) {
  const { user } = await api("GET", "users/me");
  saveUser(user);

  const details = h("form", { class: "card", id: "account-details", onsubmit: guarded(async (e) => {
    const { current_password, ...changes } = formValues(e.target);
    // The password goes along only with a new email (the API asks for it then, and only then).
    if (changes.email.toLowerCase() !== user.email.toLowerCase()) changes.current_password = current_password;
    const { user: saved } = await api("PATCH", "users/me", changes);
    saveUser(saved);
    flash("Saved.", "info");
    render();
  }) },
  h("h2", {}, "Your details"),
  field("Name", h("input", { name: "name", required: true, maxlength: 100, value: user.name, autocomplete: "name" })),
  field("Email", h("input", { name: "email", type: "email", required: true, value: user.email, autocomplete: "email" })),
  field("Current password (to change the email)",
    h("input", { name: "current_password", type: "password", autocomplete: "current-password" })),
  h("button", { type: "submit" }, "Save"));

  const password = h("form", { class: "card", id: "account-password", onsubmit: guarded(async (e) => {
    // The answer is a fresh pair: this tab stays signed in, every other sign-in ends.
    saveSession(await api("POST", "auth/password", formValues(e.target)));
    e.target.reset();
    flash("Password changed. You were signed out everywhere else.", "info");
  }) },
  h("h2", {}, "Change password"),
  field("Current password", h("input", { name: "current_password", type: "password", required: true, autocomplete: "current-password" })),
  field("New password (8+ characters, mix letters and digits or symbols)",
    h("input", { name: "new_password", type: "password", required: true, minlength: 8, autocomplete: "new-password" })),
  h("button", { type: "submit" }, "Change password"));

  const remove = h("form", { class: "card", id: "account-delete", onsubmit: guarded(async (e) => {
    if (!confirm("Delete your account, all your wishlists and tags, and the gifts you reserved? This cannot be undone.")) return;
    await api("DELETE", "users/me", formValues(e.target));
    clearSession();
    // replaceState fires no hashchange, whose handler would clear the message below.
    history.replaceState(null, "", "#/");
    await render();
    flash("Your account was deleted.", "info");
  }) },
  h("h2", {}, "Delete account"),
  h("p", { class: "muted" }, "Removes your wishlists, items, tags and reservations, and signs you out everywhere."),
  field("Password", h("input", { name: "password", type: "password", required: true, autocomplete: "current-password" })),
  h("button", { type: "submit", class: "danger" }, "Delete my account"));

  show(h("h1", {}, "Account"),
    h("p", { class: "muted" }, `Member since ${new Date(user.created_at).toLocaleDateString()}`),
    details, password, remove);
}
