// SeaCalendar web UI, the question of the week: a server's schedule (a form for those who may
// manage the server), its questions, suggesting one and answering this week's. Loaded before
// app.js, whose helpers ($, api, state, show, socket, route) these call, and which wires them up.
"use strict";

const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const byGuild = (guild) => `guild_id=${encodeURIComponent(guild)}`;
// The Discord server last used, here or in the invitee picker (invitees.js): the next visit opens it.
const GUILD_KEY = "sc_guild";
const rememberedGuild = () => localStorage.getItem(GUILD_KEY);
const rememberGuild = (guild) => localStorage.setItem(GUILD_KEY, guild);

// The bot's Discord servers this member is in, asked once per page (GET /guilds): the question of
// the week and the invitee picker offer them by name, as copying a server's id needs Discord's
// developer mode. With none to offer (none, too many, Discord unreachable) the id is typed.
let myGuilds = null;
function guildsOfMine() {
  myGuilds ??= api("/guilds").then((answer) => answer.guilds, () => { myGuilds = null; return []; });
  return myGuilds;
}

/** Fill a server <select> (in a hidden label until there is something to choose), `current` chosen. */
async function offerGuilds(select, current) {
  const guilds = await guildsOfMine();
  select.replaceChildren(new Option("Choose a server…", ""), ...guilds.map((g) => new Option(g.name, g.id)));
  select.value = guilds.some((g) => g.id === current) ? current : "";
  select.closest("label").hidden = !guilds.length;
}

/** Show the chosen server's questions (the server <select> of the question-of-the-week form). */
function pickQotwGuild(event) {
  const form = event.target.form;
  if (!event.target.value) return;
  form.guild_id.value = event.target.value;
  form.requestSubmit();
}

async function showQotw(guild) {
  socket.leaveAll();
  show("qotw");
  for (const id of ["qotw-config-error", "qotw-config-saved", "qotw-answer-error", "qotw-answer-saved", "qotw-ask-error"]) {
    $(id).textContent = "";
  }
  $("qotw-body").hidden = true;
  state.guild = guild || rememberedGuild();
  $("qotw-guild").guild_id.value = state.guild ?? "";
  offerGuilds($("qotw-guild").guild_pick, state.guild);
  if (!state.guild) return;
  const asked = state.guild;
  let config;
  try { config = await api(`/qotw/config?${byGuild(asked)}`); } catch (error) {
    // No schedule yet: the 404 still says whether this member may set one.
    if (error.code !== "not_found" || !error.details) throw error;
    config = { missing: true, can_manage: error.details.can_manage };
  }
  const { questions } = await api(`/qotw/questions?${byGuild(asked)}`);
  if (state.guild !== asked || $("qotw").hidden) return;
  rememberGuild(asked);
  renderSchedule(config);
  renderQuestions(questions);
  $("qotw-body").hidden = false;
}

function renderSchedule(config) {
  const form = $("qotw-config");
  $("qotw-schedule").textContent = config.missing ? "This server has no question-of-the-week schedule yet."
    : `${config.enabled ? "Asked" : "Paused; when on, asked"} on ${WEEKDAYS[config.weekday]}s at `
      + `${String(config.hour).padStart(2, "0")}:00 UTC in channel ${config.channel_id}.`;
  // Only its managers may change it: anyone else would fill in the form to be told no.
  form.hidden = !config.can_manage;
  if (config.missing) form.reset();
  else {
    form.channel_id.value = config.channel_id;
    form.weekday.value = String(config.weekday);
    form.hour.value = config.hour;
    form.enabled.checked = config.enabled;
  }
}

function renderQuestions(questions) {
  const shown = { queued: "waiting its turn", posting: "being asked now", posted: "asked" };
  $("qotw-questions").replaceChildren(...questions.map((question) => {
    const item = document.createElement("li");
    const when = question.posted_at ? ` ${new Date(question.posted_at).toLocaleDateString()}` : "";
    const answers = question.status === "posted" ? ` · ${question.responses} answered` : "";
    item.append(question.text, " ");
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = `— ${shown[question.status]}${when}${answers}`;
    item.append(meta);
    return item;
  }));
  if (!questions.length) $("qotw-questions").textContent = "No questions yet: suggest the first.";
  // Newest first: the first one asked is this week's.
  state.question = questions.find((q) => q.status === "posted") ?? null;
  $("qotw-current").hidden = !state.question;
  if (state.question) {
    $("qotw-current-text").textContent = state.question.text;
    $("qotw-answer").text.value = state.question.my_response ?? "";
  }
}

function chooseGuild(event) {
  event.preventDefault();
  const hash = `#qotw=${event.target.guild_id.value.trim()}`;
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function reloadQuestions() {
  const { questions } = await api(`/qotw/questions?${byGuild(state.guild)}`);
  renderQuestions(questions);
}

async function saveSchedule(event) {
  event.preventDefault();
  const form = event.target;
  $("qotw-config-error").textContent = $("qotw-config-saved").textContent = "";
  const body = {
    guild_id: state.guild, channel_id: form.channel_id.value.trim(), weekday: Number(form.weekday.value),
    hour: Number(form.hour.value), enabled: form.enabled.checked,
  };
  try {
    renderSchedule({ ...await api("/qotw/config", { method: "PUT", body: JSON.stringify(body) }), can_manage: true });
    $("qotw-config-saved").textContent = "Schedule saved.";
  } catch (error) { $("qotw-config-error").textContent = error.message; }
}

async function addQuestion(event) {
  event.preventDefault();
  const form = event.target;
  $("qotw-ask-error").textContent = "";
  // Said here in words: the API's answer to a blank one names the field and pydantic's rule.
  if (!form.text.value.trim()) { $("qotw-ask-error").textContent = "Write a question first."; return; }
  try {
    await api("/qotw/questions", { method: "POST", body: JSON.stringify({ guild_id: state.guild, text: form.text.value }) });
    form.reset();
    await reloadQuestions();
  } catch (error) { $("qotw-ask-error").textContent = error.message; }
}

async function answerQuestion(event) {
  event.preventDefault();
  $("qotw-answer-error").textContent = $("qotw-answer-saved").textContent = "";
  if (!event.target.text.value.trim()) { $("qotw-answer-error").textContent = "Write your answer first."; return; }
  try {
    const body = JSON.stringify({ text: event.target.text.value });
    await api(`/qotw/questions/${state.question.id}/responses`, { method: "POST", body });
    await reloadQuestions();
    $("qotw-answer-saved").textContent = "Answer saved.";
  } catch (error) { $("qotw-answer-error").textContent = error.message; }
}
