// SeaCalendar web UI, the invitee picker of the new-poll and edit forms: with a Discord server set,
// typing part of a name lists its members, and each one chosen becomes a removable chip. What the
// form sends as `invitees` is the chips' ids and any typed by hand. Loaded after qotw.js (whose
// remembered server it shares) and before app.js, whose helpers ($, api) these call.
"use strict";

const SEARCH_DELAY_MS = 250; // one request per pause in typing, not one per key
const pickers = new WeakMap(); // form -> { timer, asked }: the pending search and the latest one sent

// The picker's state, and the element of the form's error line.
function picker(form) {
  if (!pickers.has(form)) pickers.set(form, { timer: null, asked: 0 });
  return pickers.get(form);
}

const pickerError = (form) => form.querySelector(".error");
const matchList = (form) => form.querySelector(".member-matches");
const chipList = (form) => form.querySelector(".chips");

/** The chosen invitees' Discord ids, in the order they were added. */
function chipIds(form) {
  return [...chipList(form).children].map((chip) => chip.dataset.id);
}

/** Add a removable chip for `discordId`, labelled `name` (once per id). */
function addChip(form, discordId, name) {
  if (chipIds(form).includes(discordId)) return;
  const chip = document.createElement("li");
  chip.dataset.id = discordId;
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "secondary";
  remove.textContent = "×";
  remove.setAttribute("aria-label", `Remove ${name}`);
  remove.addEventListener("click", () => chip.remove());
  chip.append(name, " ", remove);
  chipList(form).append(chip);
}

/** Empty the picker: no chips, no matches, the last server used filled in. */
function resetPicker(form) {
  chipList(form).replaceChildren();
  matchList(form).replaceChildren();
  form.member_search.value = "";
  form.guild.value = rememberedGuild() ?? "";
  form.guild_pick.value = "";
  picker(form).asked++; // an answer still on its way belongs to what was cleared
}

/** Offer the member's servers by name in the picker of a form about to be used. */
function offerPickerGuilds(form) {
  return offerGuilds(form.guild_pick, form.guild.value.trim());
}

function showMatches(form, members) {
  matchList(form).replaceChildren(...members.map((member) => {
    const item = document.createElement("li");
    const choose = document.createElement("button");
    choose.type = "button";
    choose.className = "secondary";
    choose.textContent = member.display_name === member.username ? member.username
      : `${member.display_name} (${member.username})`;
    choose.addEventListener("click", () => chooseMember(form, member));
    item.append(choose);
    return item;
  }));
  if (!members.length) matchList(form).textContent = "Nobody in that server goes by that name.";
}

function chooseMember(form, member) {
  addChip(form, member.discord_id, member.display_name);
  form.member_search.value = "";
  matchList(form).replaceChildren();
  form.member_search.focus();
}

async function searchMembers(form) {
  const pending = picker(form), guild = form.guild.value.trim(), query = form.member_search.value.trim();
  const asked = ++pending.asked;
  matchList(form).replaceChildren();
  if (!guild || query.length < 2) return;
  if (!/^[0-9]{1,20}$/.test(guild)) {
    pickerError(form).textContent = "A Discord server id is a number (right-click the server, Copy Server ID).";
    return;
  }
  try {
    const params = new URLSearchParams({ query, limit: "10" });
    const { members } = await api(`/guilds/${guild}/members?${params}`);
    // Typing on, or clearing the form, sent a newer search: this answer is for words gone from the box.
    if (asked !== pending.asked) return;
    pickerError(form).textContent = "";
    rememberGuild(guild);
    showMatches(form, members);
  } catch (error) {
    if (asked === pending.asked) pickerError(form).textContent = error.message;
  }
}

function scheduleSearch(form) {
  const pending = picker(form);
  clearTimeout(pending.timer);
  pending.asked++; // the answer to a search already sent no longer matches what is typed
  pending.timer = setTimeout(() => searchMembers(form), SEARCH_DELAY_MS);
}

/** Wire the picker of `form` (the new-poll or the edit form). */
function setUpPicker(form) {
  form.member_search.addEventListener("input", () => scheduleSearch(form));
  form.guild.addEventListener("input", () => {
    const typed = form.guild.value.trim();
    form.guild_pick.value = [...form.guild_pick.options].some((o) => o.value === typed) ? typed : "";
    scheduleSearch(form);
  });
  form.guild_pick.addEventListener("change", () => {
    if (!form.guild_pick.value) return;
    form.guild.value = form.guild_pick.value;
    scheduleSearch(form);
  });
  // Enter in the search box takes the first match instead of submitting the poll half-filled.
  form.member_search.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    matchList(form).querySelector("button")?.click();
  });
  resetPicker(form);
}
