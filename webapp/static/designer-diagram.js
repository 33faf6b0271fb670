// Designer pages: draw every .bpmn-view with bpmn-js (read-only) and mark elements by id.
// data-src: URL of the BPMN XML; or data-source: id of a <textarea> holding it.
// data-markers: {"element_id": "css-class"} (diff-added, diff-changed, diff-removed, problem).
(function () {
  var LABELS = { 'diff-added': '+', 'diff-changed': '~', 'diff-removed': '−', 'problem': '!' };

  function source(el) {
    var src = el.getAttribute('data-src');
    if (src) {
      return fetch(src, { credentials: 'same-origin' }).then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.text();
      });
    }
    var box = document.getElementById(el.getAttribute('data-source'));
    return Promise.resolve(box ? box.value : '');
  }

  function mark(viewer, markers) {
    var canvas = viewer.get('canvas');
    var registry = viewer.get('elementRegistry');
    var overlays = viewer.get('overlays');
    var marked = 0;
    Object.keys(markers || {}).forEach(function (id) {
      var element = registry.get(id);
      if (!element) return;
      canvas.addMarker(id, markers[id]);
      var badge = document.createElement('span');
      badge.className = 'marker-badge ' + markers[id];
      badge.textContent = LABELS[markers[id]] || '•';
      badge.title = id;
      overlays.add(id, { position: { top: -10, right: 10 }, html: badge });
      marked += 1;
    });
    return marked;
  }

  function draw(el) {
    var markers = {};
    try { markers = JSON.parse(el.getAttribute('data-markers') || '{}'); } catch (e) { markers = {}; }
    return source(el).then(function (xml) {
      var viewer = new BpmnJS({ container: el });
      el.bpmnViewer = viewer;
      return viewer.importXML(xml).then(function () {
        viewer.get('canvas').zoom('fit-viewport');
        el.setAttribute('data-marked', String(mark(viewer, markers)));
        el.setAttribute('data-ready', '1');
      });
    }).catch(function (err) {
      el.setAttribute('data-error', String(err && err.message || err));
      el.classList.add('diagram-failed');
      el.textContent = String(err && err.message || err);
    });
  }

  var views = document.querySelectorAll('.bpmn-view');
  if (!window.BpmnJS) {
    views.forEach(function (el) { el.textContent = '—'; el.setAttribute('data-error', 'bpmn-js missing'); });
    return;
  }
  views.forEach(draw);

  // a click on a problem row centres its element in the file's diagram
  document.addEventListener('click', function (ev) {
    var row = ev.target.closest('tr.problem');
    if (!row || !row.getAttribute('data-element')) return;
    document.querySelectorAll('.bpmn-view').forEach(function (el) {
      if (el.getAttribute('data-file') !== row.getAttribute('data-file') || !el.bpmnViewer) return;
      var element = el.bpmnViewer.get('elementRegistry').get(row.getAttribute('data-element'));
      if (element) {
        el.scrollIntoView({ behavior: 'smooth', block: 'center' });
        el.bpmnViewer.get('canvas').scrollToElement(element);
      }
    });
  });
})();
