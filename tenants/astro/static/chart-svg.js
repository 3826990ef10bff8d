// North and South Indian chart diagrams as SVG, from the chart document the API returns.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const SIGNS = ["Aries", "Taurus", "Gemini", "Cancer", "Leo", "Virgo", "Libra", "Scorpio",
  "Sagittarius", "Capricorn", "Aquarius", "Pisces"];
const SHORT = { Sun: "Su", Moon: "Mo", Mars: "Ma", Mercury: "Me", Jupiter: "Ju", Venus: "Ve",
  Saturn: "Sa", Rahu: "Ra", Ketu: "Ke" };
// South Indian: the signs stay put, clockwise from Pisces in the top-left corner.
const SOUTH_CELLS = [[1, 0], [2, 0], [3, 0], [3, 1], [3, 2], [3, 3], [2, 3], [1, 3], [0, 3], [0, 2], [0, 1], [0, 0]];
// North Indian: the houses stay put, counter-clockwise from the top diamond; label anchors on 300×300.
const NORTH_HOUSES = [[150, 80], [75, 35], [30, 80], [80, 150], [30, 225], [75, 268], [150, 225],
  [225, 268], [270, 225], [220, 150], [270, 80], [225, 35]];

function el(name, attrs, text) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function label(body) {
  let text = SHORT[body.body];
  if (body.retrograde && body.body !== "Rahu" && body.body !== "Ketu") text += "ᴿ";
  if (body.sign_uncertain) text += "?";
  return text;
}

/** Bodies grouped by sign index (0 = Aries). */
function bySign(bodies) {
  const groups = Array.from({ length: 12 }, () => []);
  for (const body of bodies) groups[body.sign_index].push(label(body));
  return groups;
}

function lines(svg, x, y, words) {
  const rows = [];
  for (let i = 0; i < words.length; i += 3) rows.push(words.slice(i, i + 3).join(" "));
  rows.forEach((row, i) => svg.appendChild(el("text", { x, y: y + i * 14 }, row)));
}

function south(part) {
  const svg = el("svg", { viewBox: "0 0 300 300", class: "chart", role: "img" });
  svg.appendChild(el("rect", { x: 1, y: 1, width: 298, height: 298 }));
  const groups = bySign(part.bodies);
  SOUTH_CELLS.forEach(([col, row], sign) => {
    const x = col * 75, y = row * 75;
    svg.appendChild(el("rect", { x, y, width: 75, height: 75 }));
    svg.appendChild(el("text", { x: x + 37, y: y + 12, class: "sign" }, SIGNS[sign].slice(0, 3)));
    const words = [...groups[sign]];
    if (part.ascendant && part.ascendant.sign_index === sign) words.unshift("As");
    lines(svg, x + 37, y + 32, words);
  });
  svg.appendChild(el("text", { x: 150, y: 155, class: "sign" }, "South Indian"));
  return svg;
}

function north(part, lagnaSign) {
  const svg = el("svg", { viewBox: "0 0 300 300", class: "chart", role: "img" });
  svg.appendChild(el("rect", { x: 1, y: 1, width: 298, height: 298 }));
  svg.appendChild(el("line", { x1: 0, y1: 0, x2: 300, y2: 300 }));
  svg.appendChild(el("line", { x1: 300, y1: 0, x2: 0, y2: 300 }));
  svg.appendChild(el("polygon", { points: "150,0 300,150 150,300 0,150" }));
  const groups = bySign(part.bodies);
  NORTH_HOUSES.forEach(([x, y], house) => {
    const sign = (lagnaSign + house) % 12;
    svg.appendChild(el("text", { x, y: y - 14, class: house === 0 ? "sign asc" : "sign" }, String(sign + 1)));
    lines(svg, x, y + 2, groups[sign]);
  });
  return svg;
}

/** The diagram of one part (``chart.d1`` or ``chart.d9``) in the chosen style. */
window.drawChart = function drawChart(part, style, moonSign) {
  // Without a birth time there is no ascendant: the North style then counts from the Moon.
  const lagna = part.ascendant ? part.ascendant.sign_index : moonSign;
  return style === "south" ? south(part) : north(part, lagna);
};
