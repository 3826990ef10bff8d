// Wishlist web UI, DOM helpers: every text goes in through text nodes, never innerHTML.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function field(label, input) { return h("label", {}, label, input); }

export function formValues(form) { return Object.fromEntries(new FormData(form).entries()); }

export function flash(message, kind = "error") {
  const el = document.getElementById("flash");
  el.textContent = message;
  el.className = `flash ${kind}`;
  el.hidden = !message;
}

export function show(...nodes) {
  document.getElementById("view").replaceChildren(...nodes.filter(Boolean));
}
