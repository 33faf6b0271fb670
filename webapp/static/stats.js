/* The statistics dashboard: Apache ECharts charts from the figures the page embeds
   (<script type="application/json" id="stats-data">); a click on a bar or slice opens the
   list of the cases behind it. */
(function () {
  "use strict";
  var node = document.getElementById("stats-data");
  if (!node || typeof echarts === "undefined") { return; }
  var payload = JSON.parse(node.textContent);
  var data = payload.data, links = payload.links, names = payload.names;

  function caseUrl(extra) {
    var params = new URLSearchParams();
    var base = links._received || {};
    Object.keys(base).forEach(function (k) { params.set(k, base[k]); });
    Object.keys(extra).forEach(function (k) { params.set(k, extra[k]); });
    if (![...params.keys()].length) { params.set("state", "all"); }
    return payload.cases_url + "?" + params.toString();
  }

  function chart(id, option, argFor) {
    var el = document.getElementById(id);
    if (!el) { return null; }
    var c = echarts.init(el, null, { renderer: "canvas" });
    c.setOption(Object.assign({ animation: false, tooltip: { trigger: "item" } }, option));
    if (argFor) {
      c.on("click", function (p) {
        var extra = argFor(p);
        if (extra) { window.location.href = caseUrl(extra); }
      });
    }
    window.addEventListener("resize", function () { c.resize(); });
    el.setAttribute("data-rendered", "1");
    return c;
  }

  function entries(obj, label) {
    return Object.keys(obj).map(function (k) { return { code: k, name: label ? label(k) : k, value: obj[k] }; });
  }

  function bars(items, horizontal) {
    var cat = { type: "category", data: items.map(function (i) { return i.name; }), axisLabel: { interval: 0 } };
    var val = { type: "value", minInterval: 1 };
    return {
      // containLabel: long unit names stay inside the chart, never cut at its edge
      grid: { left: 10, right: 30, top: 20, bottom: horizontal ? 10 : 20, containLabel: true },
      xAxis: horizontal ? val : Object.assign(cat, { axisLabel: { interval: 0, rotate: 30 } }),
      yAxis: horizontal ? Object.assign(cat, { inverse: true }) : val,
      series: [{ type: "bar", data: items.map(function (i) { return { value: i.value, code: i.code }; }),
                 itemStyle: { color: "#0b5cad" }, barMaxWidth: 36, label: { show: true, position: horizontal ? "right" : "top" } }]
    };
  }

  function pie(items) {
    items = items.filter(function (i) { return i.value > 0; });
    if (!items.length) {
      return { title: { text: "—", left: "center", top: "middle", textStyle: { color: "#999" } }, series: [] };
    }
    // names in the legend, whole and with their counts (a label beside a slice was cut to "马..."
    // where the box is narrow); the count alone inside each slice
    var counts = {};
    items.forEach(function (i) { counts[i.name] = i.value; });
    return {
      legend: { bottom: 0, left: "center", itemGap: 12, formatter: function (name) { return name + "  " + counts[name]; } },
      series: [{ type: "pie", radius: ["32%", "62%"], center: ["50%", "44%"],
                 label: { position: "inside", formatter: "{c}", color: "#fff", fontWeight: "bold" }, labelLine: { show: false },
                 data: items.map(function (i) { return { name: i.name, value: i.value, code: i.code }; }) }]
    };
  }

  var county = function (k) { return names.county[k] || k; };
  var unit = function (k) { return names.unit[k] || k; };
  chart("chart-category", bars(entries(data.by_category)), function (p) { return { rcategory: p.name }; });
  chart("chart-county", bars(entries(data.by_county, county)), function (p) { return { rcounty: p.data.code }; });
  chart("chart-mode", pie(entries(data.by_mode)), function (p) { return { mode: p.data.code }; });
  chart("chart-leader", pie(entries(data.leader_modes)), function (p) { return { leader_mode: p.data.code }; });
  // the 15 lead units with most cases, most first (a list from the server: object keys come sorted by code)
  var unitTop = (payload.unit_top || []).map(function (e) { return { code: e[0], name: unit(e[0]), value: e[1] }; });
  chart("chart-unit", bars(unitTop, true), function (p) { return { lead_unit: p.data.code }; });
})();
