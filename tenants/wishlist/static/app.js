// Wishlist web UI: a small hash-routed page over the JSON API. No framework, no inline scripts
// (the CSP allows only 'self'); modules api.js (client, tokens), dom.js (element helpers),
// account.js (the Account view) and reset.js (forgotten passwords).

import { accountView } from "./account.js";
import { api, clearSession, saveSession, session } from "./api.js";
import { field, flash, formValues, h, show } from "./dom.js";
import { forgotView, resetAvailable, resetView } from "./reset.js";

const PRIORITIES = { 1: "must have", 2: "would love", 3: "nice", 4: "maybe", 5: "if you like" };

// True when a request failed because the session ended (refresh refused): show sign-in again.
function signedOut(error) { return Boolean(error.sessionEnded); }

// Run an action from a form or button; errors land in the flash line, not the console.
function guarded(action) {
  return async (event) => {
    if (event) event.preventDefault();
    flash("");
    try {
      await action(event);
    } catch (error) {
      if (signedOut(error)) render();
      flash(signedOut(error) ? "Your session ended; please sign in again." : error.message);
    }
  };
}

function money(item) { return item.price === null ? "" : `${item.price} ${item.currency}`; }

function tagChip(tag) {
  const chip = h("span", { class: "tag" }, tag.name);
  if (tag.color) chip.style.borderLeftColor = tag.color;
  return chip;
}

function shareLink(token) {
  return `${location.origin}${location.pathname}#/shared/${encodeURIComponent(token)}`;
}

// The clipboard API exists only in a secure context (HTTPS or localhost); a box reached over plain
// HTTP gets the older copy command, and failing that the link is left selected for the keyboard.
async function copyLink(input) {
  if (navigator.clipboard?.writeText) {
    try {
      await navigator.clipboard.writeText(input.value);
      flash("Link copied.", "info");
      return;
    } catch { /* refused (no permission): fall back below */ }
  }
  input.focus();
  input.select();
  const copied = document.execCommand("copy");
  flash(copied ? "Link copied." : "The link is selected: press Ctrl+C (⌘C on a Mac) to copy it.", "info");
}

// ---- views ----

function signInView() {
  // Shown once the server says it can mail reset links.
  const forgot = h("a", { href: "#/forgot", id: "forgot-link", hidden: true }, "Forgot password?");
  resetAvailable().then((yes) => { forgot.hidden = !yes; });
  const signIn = h("form", { onsubmit: guarded(async (e) => {
    saveSession(await api("POST", "auth/login", formValues(e.target)));
    afterSignIn();
  }) },
  field("Email", h("input", { name: "email", type: "email", required: true, autocomplete: "email" })),
  field("Password", h("input", { name: "password", type: "password", required: true, autocomplete: "current-password" })),
  h("div", { class: "row spread" },
    h("button", { type: "submit" }, "Sign in"),
    forgot));

  const signUp = h("form", { onsubmit: guarded(async (e) => {
    saveSession(await api("POST", "auth/register", formValues(e.target)));
    afterSignIn();
  }) },
  field("Name", h("input", { name: "name", required: true, maxlength: 100, autocomplete: "name" })),
  field("Email", h("input", { name: "email", type: "email", required: true, autocomplete: "email" })),
  field("Password (8+ characters, mix letters and digits or symbols)",
    h("input", { name: "password", type: "password", required: true, minlength: 8, autocomplete: "new-password" })),
  h("button", { type: "submit" }, "Create account"));

  show(h("h1", {}, "Wishlists you can share"),
    h("div", { class: "columns" },
      h("section", { class: "card" }, h("h2", {}, "Sign in"), signIn),
      h("section", { class: "card" }, h("h2", {}, "New here?"), signUp)));
}

function afterSignIn() {
  const back = sessionStorage.getItem("wishlist.return");
  sessionStorage.removeItem("wishlist.return");
  if (back && back !== location.hash) location.hash = back;
  else render();
}

async function listsView() {
  const list = h("ul", { class: "plain" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show more");
  let cursor = null;

  async function load() {
    const page = await api("GET", "wishlists?limit=20" + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""));
    for (const w of page.wishlists) {
      list.append(h("li", { class: "card row spread" },
        h("a", { href: `#/w/${w.id}` }, w.title),
        h("span", { class: "row" },
          h("span", { class: "badge" }, w.visibility),
          h("span", { class: "muted" }, `${w.item_count} item${w.item_count === 1 ? "" : "s"}`))));
    }
    if (!list.children.length) list.append(h("li", { class: "muted" }, "No wishlists yet — start one below."));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  }
  more.addEventListener("click", guarded(load));

  const create = h("form", { class: "card", onsubmit: guarded(async (e) => {
    const created = await api("POST", "wishlists", formValues(e.target));
    location.hash = `#/w/${created.id}`;
  }) },
  h("h2", {}, "New wishlist"),
  field("Title", h("input", { name: "title", required: true, maxlength: 200 })),
  field("Description", h("textarea", { name: "description", maxlength: 5000 })),
  visibilitySelect("private"),
  h("button", { type: "submit" }, "Create"));

  show(h("h1", {}, "My wishlists"), list, more, create);
  await load();
}

function visibilitySelect(current) {
  const options = [
    ["private", "Private — only me"],
    ["shared", "Shared — people with the link who sign in"],
    ["public", "Public — anyone with the link"],
  ];
  return field("Who can see it", h("select", { name: "visibility" },
    options.map(([value, text]) => h("option", { value, selected: value === current }, text))));
}

async function wishlistView(id) {
  const [wishlist, tagDoc] = await Promise.all([api("GET", `wishlists/${id}`), api("GET", "tags")]);
  const tags = tagDoc.tags;

  const details = h("form", { class: "card", onsubmit: guarded(async (e) => {
    await api("PUT", `wishlists/${id}`, formValues(e.target));
    flash("Saved.", "info");
    render();
  }) },
  field("Title", h("input", { name: "title", required: true, maxlength: 200, value: wishlist.title })),
  field("Description", h("textarea", { name: "description", maxlength: 5000 }, wishlist.description)),
  visibilitySelect(wishlist.visibility),
  h("div", { class: "row spread" },
    h("button", { type: "submit" }, "Save"),
    h("button", { type: "button", class: "danger", onclick: guarded(async () => {
      if (!confirm(`Delete “${wishlist.title}” and all its items?`)) return;
      await api("DELETE", `wishlists/${id}`);
      location.hash = "#/";
    }) }, "Delete list")));

  const link = h("input", { readonly: true, value: shareLink(wishlist.share_token), "aria-label": "Share link" });
  const share = wishlist.visibility === "private"
    ? h("p", { class: "card muted" }, "This list is private. Make it shared or public to get a link for friends.")
    : h("section", { class: "card" }, h("h2", {}, "Share"),
      h("div", { class: "row share" }, link,
        h("button", { type: "button", onclick: guarded(() => copyLink(link)) }, "Copy link"),
        h("button", { type: "button", class: "secondary", onclick: guarded(async () => {
          if (!confirm("Make a new link? The old one stops working.")) return;
          await api("POST", `wishlists/${id}/share-token`);
          render();
        }) }, "New link")),
      h("p", { class: "muted" }, "Friends can reserve items; you won't see who reserved what."));

  const items = h("ul", { class: "plain" }, wishlist.items.map((item) => itemCard(item, tags)));
  if (!wishlist.items.length) items.append(h("li", { class: "muted" }, "No items yet."));

  show(h("p", {}, h("a", { href: "#/" }, "← My wishlists")), h("h1", {}, wishlist.title),
    details, share, h("h2", {}, "Items"), items, itemForm(id, tags, null));
}

function itemCard(item, tags) {
  const card = h("li", { class: "card item" },
    h("div", { class: "row spread" },
      item.url ? h("a", { class: "name", href: item.url, rel: "noopener noreferrer", target: "_blank" }, item.name)
        : h("span", { class: "name" }, item.name),
      h("span", { class: "price" }, money(item))),
    h("div", { class: "row" }, h("span", { class: "priority" }, `${item.priority} · ${PRIORITIES[item.priority]}`),
      item.tags.map(tagChip)),
    item.notes ? h("p", { class: "muted text" }, item.notes) : null,
    h("div", { class: "row" },
      h("button", { type: "button", class: "secondary", onclick: () => {
        const form = itemForm(item.wishlist_id, tags, item);
        card.replaceWith(form);
        // The pressed button is gone: keep keyboard focus where the editing happens.
        form.elements.name.focus();
      } }, "Edit"),
      h("button", { type: "button", class: "danger", onclick: guarded(async () => {
        if (!confirm(`Delete “${item.name}”?`)) return;
        await api("DELETE", `items/${item.id}`);
        render();
      }) }, "Delete")));
  return card;
}

function itemForm(wishlistId, tags, item) {
  const value = (key) => (item && item[key] !== null ? item[key] : "");
  const chosen = new Set(item ? item.tags.map((t) => t.id) : []);
  const form = h("form", { class: "card", onsubmit: guarded(async (e) => {
    const raw = formValues(e.target);
    const body = {
      name: raw.name,
      url: raw.url || null,
      // Accept "12,50" as typed in much of Europe; the API wants a dot.
      price: raw.price ? raw.price.replace(",", ".") : null,
      currency: raw.price ? raw.currency : null,
      priority: Number(raw.priority),
      notes: raw.notes,
      tag_ids: [...e.target.querySelectorAll("input[name=tag]:checked")].map((box) => Number(box.value)),
    };
    if (item) await api("PUT", `items/${item.id}`, body);
    else await api("POST", "items", { wishlist_id: wishlistId, ...body });
    render();
  }) },
  h("h2", {}, item ? `Edit “${item.name}”` : "Add an item"),
  field("Name", h("input", { name: "name", required: true, maxlength: 200, value: value("name") })),
  field("Link (http or https)", h("input", { name: "url", type: "url", maxlength: 2048, value: value("url") })),
  h("div", { class: "row" },
    field("Price", h("input", { name: "price", inputmode: "decimal", pattern: "\\d+([.,]\\d{1,3})?", value: value("price") })),
    field("Currency", h("input", { name: "currency", maxlength: 3, size: 4, value: value("currency") || "EUR" })),
    field("Priority", h("select", { name: "priority" }, Object.entries(PRIORITIES).map(([n, text]) =>
      h("option", { value: n, selected: Number(n) === (item ? item.priority : 3) }, `${n} · ${text}`))))),
  field("Notes", h("textarea", { name: "notes", maxlength: 5000 }, value("notes"))),
  tags.length ? h("fieldset", {}, h("legend", {}, "Tags"), tags.map((tag) =>
    h("label", {}, h("input", { type: "checkbox", name: "tag", value: tag.id, checked: chosen.has(tag.id) }), tag.name)))
    : h("p", { class: "muted" }, "Tip: create tags on the ", h("a", { href: "#/tags" }, "Tags"), " page."),
  h("div", { class: "row" }, h("button", { type: "submit" }, item ? "Save item" : "Add item"),
    item ? h("button", { type: "button", class: "secondary", onclick: () => render() }, "Cancel") : null));
  return form;
}

async function tagsView() {
  const { tags } = await api("GET", "tags");
  const list = h("ul", { class: "plain" }, tags.map((tag) => h("li", { class: "card row spread" },
    tagChip(tag),
    h("span", { class: "row" },
      h("button", { type: "button", class: "secondary", onclick: guarded(async () => {
        const name = prompt("New name", tag.name);
        if (!name) return;
        await api("PUT", `tags/${tag.id}`, { name });
        render();
      }) }, "Rename"),
      h("button", { type: "button", class: "danger", onclick: guarded(async () => {
        if (!confirm(`Delete tag “${tag.name}”? Items keep everything else.`)) return;
        await api("DELETE", `tags/${tag.id}`);
        render();
      }) }, "Delete")))));
  if (!tags.length) list.append(h("li", { class: "muted" }, "No tags yet."));
  const create = h("form", { class: "card", onsubmit: guarded(async (e) => {
    await api("POST", "tags", formValues(e.target));
    render();
  }) },
  h("h2", {}, "New tag"),
  h("div", { class: "row" },
    field("Name", h("input", { name: "name", required: true, maxlength: 40 })),
    field("Colour", h("input", { name: "color", type: "color", value: "#c2410c" }))),
  h("button", { type: "submit" }, "Create tag"));
  show(h("h1", {}, "Tags"), list, create);
}

async function sharedView(token) {
  let doc;
  try {
    doc = await api("GET", `shared/${encodeURIComponent(token)}`);
  } catch (error) {
    if (error.status !== 401) throw error;
    sessionStorage.setItem("wishlist.return", location.hash);
    flash("Sign in (or create an account) to see this wishlist.", "info");
    signInView();
    return;
  }
  const signedIn = Boolean(session());
  const items = h("ul", { class: "plain" }, doc.items.map((item) => {
    const path = `shared/${encodeURIComponent(token)}/items/${item.id}/reservation`;
    const act = (method, label, cls) => h("button", {
      type: "button", class: cls, onclick: guarded(async () => {
        try {
          await api(method, path);
        } catch (error) {
          // Someone else reserved it, or the item or list changed meanwhile: show the list as it is
          // now (the message stays), not a button that can only fail again.
          if ([403, 404, 409].includes(error.status)) await render();
          throw error;
        }
        render();
      }),
    }, label);
    let action = null;
    if (!signedIn) {
      action = h("a", {
        href: "#/signin", onclick: () => sessionStorage.setItem("wishlist.return", location.hash),
      }, "Sign in to reserve");
    } else if (item.reserved_by_me) action = act("DELETE", "Release", "secondary");
    else if (!item.reserved && !doc.viewer_is_owner) action = act("POST", "I'll give this");
    return h("li", { class: "card item" },
      h("div", { class: "row spread" },
        item.url ? h("a", { class: "name", href: item.url, rel: "noopener noreferrer", target: "_blank" }, item.name)
          : h("span", { class: "name" }, item.name),
        h("span", { class: "price" }, money(item))),
      h("div", { class: "row" }, h("span", { class: "priority" }, PRIORITIES[item.priority]), item.tags.map(tagChip),
        item.reserved ? h("span", { class: "badge reserved" }, item.reserved_by_me ? "reserved by you" : "reserved") : null),
      item.notes ? h("p", { class: "muted text" }, item.notes) : null,
      action ? h("div", {}, action) : null);
  }));
  if (!doc.items.length) items.append(h("li", { class: "muted" }, "Nothing on this list yet."));
  show(h("h1", {}, doc.title), h("p", { class: "muted" }, `A wishlist by ${doc.owner.name}`),
    doc.description ? h("p", { class: "text" }, doc.description) : null,
    doc.viewer_is_owner ? h("p", { class: "card muted" }, "This is your list as friends see it — minus who reserved what.") : null,
    items);
}

async function reservationsView() {
  const { reservations } = await api("GET", "reservations");
  const list = h("ul", { class: "plain" }, reservations.map((r) => h("li", { class: "card row spread" },
    h("span", {}, h("a", { href: `#/shared/${encodeURIComponent(r.wishlist.share_token)}` }, r.item.name),
      h("span", { class: "muted" }, ` for ${r.wishlist.owner.name} (${r.wishlist.title})`)),
    h("span", { class: "price" }, money(r.item)))));
  if (!reservations.length) list.append(h("li", { class: "muted" }, "You haven't reserved anything yet."));
  show(h("h1", {}, "Gifts I'm giving"), list);
}

// ---- routing ----

async function render() {
  const current = session();
  document.getElementById("nav").hidden = !current;
  document.getElementById("who").textContent = current ? current.user.name : "";
  const [, route, arg] = location.hash.split("/");
  try {
    if (route === "shared" && arg) return await sharedView(decodeURIComponent(arg));
    if (route === "reset" && arg) return resetView(guarded, decodeURIComponent(arg), render);
    if (route === "forgot" && !current) return forgotView(guarded);
    if (!current) return signInView();
    if (route === "w" && arg) return await wishlistView(Number(arg));
    if (route === "tags") return await tagsView();
    if (route === "reservations") return await reservationsView();
    if (route === "account") return await accountView(guarded, render);
    return await listsView();
  } catch (error) {
    if (signedOut(error)) {
      flash("Your session ended; please sign in again.");
      return signInView();
    }
    show(h("p", { class: "card" }, error.message), h("a", { href: "#/" }, "Back to my wishlists"));
  }
}

document.getElementById("signout").addEventListener("click", guarded(async () => {
  const current = session();
  clearSession();
  if (current) await api("POST", "auth/logout", { refresh_token: current.refresh }).catch(() => null);
  location.hash = "#/";
  render();
}));
window.addEventListener("hashchange", () => { flash(""); render(); });
// Another tab of this sign-in signed out (or deleted the account), or renamed it.
window.addEventListener("wishlist:session", ({ detail }) => {
  if (detail === "ended") {
    render();
    flash("You signed out in another tab.", "info");
  } else {
    document.getElementById("who").textContent = session()?.user.name ?? "";
  }
});
render();
