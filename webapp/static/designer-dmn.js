// The DMN editor (dmn-js): opens the decision table; validate / deploy the edited file.
(function () {
  var E = window.ZtcEditor;
  var canvasEl = document.getElementById('canvas');
  if (!E || !canvasEl) return;
  if (!window.DmnJS) { E.status('dmn-js missing', 'error'); return; }
  var fileName = E.root.dataset.file;
  var modeler = new DmnJS({ container: canvasEl, common: { keyboard: { bindTo: window } } });
  window.ztcDmn = modeler;

  function files() {
    return modeler.saveXML({ format: true }).then(function (r) { var out = {}; out[fileName] = r.xml; return out; });
  }
  // problems of the deploy check marked on their cells (input/output entries, rules)
  function mark(problems) {
    Array.prototype.forEach.call(canvasEl.querySelectorAll('.has-problem'), function (el) {
      el.classList.remove('has-problem'); el.removeAttribute('title');
    });
    (problems || []).forEach(function (p) {
      if (!p.element_id) return;
      Array.prototype.forEach.call(canvasEl.querySelectorAll('[data-element-id]'), function (el) {
        if (el.getAttribute('data-element-id') === p.element_id) {
          el.classList.add('has-problem'); el.setAttribute('title', p.message);
        }
      });
    });
  }
  document.getElementById('btn-validate').addEventListener('click', function () { E.run('validate', files, mark); });
  document.getElementById('btn-deploy').addEventListener('click', function () { E.run('deploy', files, mark); });
  document.getElementById('btn-download').addEventListener('click', function () {
    files().then(function (f) { E.download(fileName, f[fileName]); });
  });

  E.fetchText(E.root.dataset.src).then(function (xml) {
    return modeler.importXML(xml);
  }).then(function () {
    var table = modeler.getViews().filter(function (v) { return v.type === 'decisionTable'; })[0];
    return table ? modeler.open(table) : null;
  }).then(function () {
    canvasEl.setAttribute('data-ready', '1');
  }).catch(function (err) {
    E.status(String(err && err.message || err), 'error');
    canvasEl.setAttribute('data-error', String(err && err.message || err));
  });
})();
