// The DMN editor (dmn-js): opens the decision table; validate / deploy the edited file; every
// edit is checked live by the deploy checker and its problems are marked on their cells.
(function () {
  var E = window.ZtcEditor;
  var canvasEl = document.getElementById('canvas');
  if (!E || !canvasEl) return;
  if (!window.DmnJS) { E.status('dmn-js missing', 'error'); return; }
  var fileName = E.root.dataset.file;
  // dmn-js's own words (header, hit policies, right-click menu) in the page's language
  var words = {};
  try { words = JSON.parse(canvasEl.dataset.words || '{}'); } catch (e) { words = {}; }
  function translate(template, replacements) {
    return (words[template] || template).replace(/{([^}]+)}/g, function (all, key) {
      return replacements && key in replacements ? replacements[key] : all;
    });
  }
  var own = { additionalModules: [{ translate: ['value', translate] }] };  // per view: dmn-js drops common's
  // keyboard: implicit (an explicit bindTo is an error now)
  var modeler = new DmnJS({ container: canvasEl, drd: own, decisionTable: own, literalExpression: own });
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

  // cells checked live: every edit is sent (debounced) to the deploy checker, its problems marked
  var liveTimer = null;
  var liveSeq = 0;
  function liveCheck() {
    var mine = ++liveSeq;
    canvasEl.setAttribute('data-live', 'checking');
    files().then(function (f) { return E.postJSON(E.root.dataset.validateUrl, { files: f }); }).then(function (r) {
      if (mine !== liveSeq) return;
      var problems = (r && r.problems) || [];
      E.showProblems(problems);
      mark(problems);
      canvasEl.setAttribute('data-live', String(problems.length));
    }).catch(function () { canvasEl.setAttribute('data-live', 'failed'); });
  }
  function watch() {
    var viewer = modeler.getActiveViewer();
    if (!viewer || viewer.__ztcWatched) return;
    viewer.__ztcWatched = true;
    viewer.get('eventBus').on('commandStack.changed', function () {
      clearTimeout(liveTimer);
      liveTimer = setTimeout(liveCheck, 600);
    });
  }
  modeler.on('views.changed', watch);

  E.fetchText(E.root.dataset.src).then(function (xml) {
    return modeler.importXML(xml);
  }).then(function () {
    var table = modeler.getViews().filter(function (v) { return v.type === 'decisionTable'; })[0];
    return table ? modeler.open(table) : null;
  }).then(function () {
    watch();
    canvasEl.setAttribute('data-ready', '1');
  }).catch(function (err) {
    E.status(String(err && err.message || err), 'error');
    canvasEl.setAttribute('data-error', String(err && err.message || err));
  });
})();
