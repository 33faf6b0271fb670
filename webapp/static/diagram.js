// The case's BPMN drawn by bpmn-js, finished elements green, current ones yellow.
(function () {
  var el = document.getElementById('diagram');
  if (!el || !window.BpmnJS) { if (el) el.textContent = '—'; return; }
  fetch(el.getAttribute('data-src'), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then(function (r) { return r.json(); })
    .then(function (state) {
      var viewer = new BpmnJS({ container: el });
      return viewer.importXML(state.xml).then(function () {
        var canvas = viewer.get('canvas');
        var registry = viewer.get('elementRegistry');
        canvas.zoom('fit-viewport');
        (state.completed || []).forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, 'highlight-done'); });
        (state.current || []).forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, 'highlight-current'); });
        // a step that ran more than once (a send-back, a reopened case) shows how often
        var overlays = viewer.get('overlays');
        Object.keys(state.counts || {}).forEach(function (id) {
          if (!registry.get(id)) return;
          var badge = document.createElement('span');
          badge.className = 'run-count';
          badge.setAttribute('data-element', id);
          badge.textContent = '×' + state.counts[id];
          overlays.add(id, { position: { top: -10, right: 10 }, html: badge });
        });
        el.setAttribute('data-ready', '1');
      });
    })
    .catch(function (err) { el.setAttribute('data-error', String(err)); el.textContent = String(err); });
})();
