// The BPMN modeler (bpmn-js) with our side panel: name, the task properties of
// docs/CONVENTIONS.md (spiffworkflow:properties), timer expressions, conditions, scripts.
// Edits go through the bpmn-js modeling API or the element's extension elements.
(function () {
  var E = window.ZtcEditor;
  var panel = document.getElementById('panel');
  var canvasEl = document.getElementById('canvas');
  if (!E || !panel || !canvasEl) return;
  if (!window.BpmnJS) { E.status('bpmn-js missing', 'error'); return; }
  var SPIFF_NS = 'http://spiffworkflow.org/bpmn/schema/1.0/core';
  var L = panel.dataset;
  var forms = [];
  try { forms = JSON.parse(L.forms || '[]'); } catch (e) { forms = []; }
  var fileName = E.root.dataset.file;

  var modeler = new BpmnJS({ container: canvasEl, keyboard: { bindTo: document } });
  window.ztcModeler = modeler;  // for tests and the browser console
  var modeling = modeler.get('modeling');
  var moddle = modeler.get('moddle');
  var registry = modeler.get('elementRegistry');
  var canvas = modeler.get('canvas');
  var current = null;
  var busy = false;  // the panel is writing: do not redraw it under the user's cursor
  function applying(fn) {
    busy = true;
    try { fn(); } finally { busy = false; }
  }

  // -- extension properties (spiffworkflow:properties / spiffworkflow:property) -----------
  function isLocal(el, local) {
    return el && typeof el.$type === 'string' && el.$type.split(':').pop() === local;
  }
  function propsContainer(bo, create) {
    var ext = bo.extensionElements;
    var box = ext && (ext.values || []).filter(function (v) { return isLocal(v, 'properties'); })[0];
    if (box || !create) return box || null;
    if (!ext) {
      ext = moddle.create('bpmn:ExtensionElements', { values: [] });
      ext.$parent = bo;
      bo.extensionElements = ext;
    }
    box = moddle.createAny('spiffworkflow:properties', SPIFF_NS, {});
    box.$children = [];
    box.$parent = ext;
    ext.values = ext.values || [];
    ext.values.push(box);
    return box;
  }
  function getProp(bo, name) {
    var box = propsContainer(bo, false);
    var found = box && (box.$children || []).filter(function (c) { return isLocal(c, 'property') && c.name === name; })[0];
    return found ? (found.value || '') : '';
  }
  function setProp(element, name, value) {
    var bo = element.businessObject;
    var box = propsContainer(bo, !!value);
    if (!box) return;
    box.$children = box.$children || [];
    var found = box.$children.filter(function (c) { return isLocal(c, 'property') && c.name === name; })[0];
    if (!value) {
      if (found) box.$children.splice(box.$children.indexOf(found), 1);
    } else if (found) {
      found.value = value;
    } else {
      var prop = moddle.createAny('spiffworkflow:property', SPIFF_NS, { name: name, value: value });
      prop.$parent = box;
      box.$children.push(prop);
    }
    // let bpmn-js know the element changed (dirty state, re-render)
    modeling.updateProperties(element, {});
  }

  // -- timers, conditions, scripts ------------------------------------------------------
  function timerOf(bo) {
    return (bo.eventDefinitions || []).filter(function (d) { return d.$type === 'bpmn:TimerEventDefinition'; })[0];
  }
  function timerType(def) {
    return ['timeDate', 'timeDuration', 'timeCycle'].filter(function (k) { return def[k]; })[0] || 'timeDate';
  }
  function setTimer(element, type, body) {
    var def = timerOf(element.businessObject);
    var update = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
    if (body) update[type] = moddle.create('bpmn:FormalExpression', { body: body });
    modeling.updateModdleProperties(element, def, update);
  }
  function setCondition(element, body) {
    modeling.updateProperties(element, {
      conditionExpression: body ? moddle.create('bpmn:FormalExpression', { body: body }) : undefined });
  }

  // -- the panel ------------------------------------------------------------------------
  function field(label, id, value, opts) {
    opts = opts || {};
    var wrap = document.createElement('label');
    wrap.textContent = label;
    wrap.setAttribute('for', id);
    var input = document.createElement(opts.multiline ? 'textarea' : (opts.options ? 'select' : 'input'));
    input.id = id;
    if (opts.multiline) input.rows = opts.rows || 3;
    if (opts.options) {
      opts.options.forEach(function (o) {
        var option = document.createElement('option');
        option.value = o[0]; option.textContent = o[1];
        input.appendChild(option);
      });
    }
    if (opts.list) input.setAttribute('list', opts.list);
    input.value = value == null ? '' : value;
    if (opts.readonly) input.readOnly = true;
    if (opts.onchange) input.addEventListener('change', function () { applying(function () { opts.onchange(input.value); }); });
    panel.appendChild(wrap);
    panel.appendChild(input);
    return input;
  }

  function render(element) {
    current = element;
    panel.textContent = '';
    if (!element) {
      var p = document.createElement('p'); p.className = 'muted'; p.textContent = L.lNone; panel.appendChild(p);
      return;
    }
    var bo = element.businessObject;
    var type = bo.$type;
    panel.setAttribute('data-element', element.id);
    field(L.lId, 'prop-id', element.id, { readonly: true });
    field(L.lType, 'prop-type', type.replace('bpmn:', ''), { readonly: true });
    field(L.lName, 'prop-name', bo.name || '', { onchange: function (v) { modeling.updateLabel(element, v); } });
    var isTask = /Task$/.test(type) || type === 'bpmn:CallActivity' || type === 'bpmn:SubProcess';
    if (type === 'bpmn:UserTask' || type === 'bpmn:ManualTask') {
      field(L.lForm, 'prop-form', getProp(bo, 'formJsonSchemaFilename'),
        { list: 'ztc-forms', onchange: function (v) { setProp(element, 'formJsonSchemaFilename', v.trim()); } });
      field(L.lUiform, 'prop-uiform', getProp(bo, 'formUiSchemaFilename'),
        { onchange: function (v) { setProp(element, 'formUiSchemaFilename', v.trim()); } });
      field(L.lGroups, 'prop-groups', getProp(bo, 'candidateGroups'),
        { onchange: function (v) { setProp(element, 'candidateGroups', v.trim()); } });
      field(L.lDue, 'prop-due', getProp(bo, 'dueDate'),
        { onchange: function (v) { setProp(element, 'dueDate', v.trim()); } });
    }
    if (isTask || /Event$/.test(type)) {
      field(L.lSummary, 'prop-summary', getProp(bo, 'summary'),
        { multiline: true, onchange: function (v) { setProp(element, 'summary', v.trim()); } });
    }
    var timer = timerOf(bo);
    if (timer) {
      var kind = timerType(timer);
      var typeInput = field(L.lTimerType, 'prop-timer-type', kind, { options: [
        ['timeDate', L.lDate], ['timeDuration', L.lDuration], ['timeCycle', L.lCycle]] });
      var expr = field(L.lTimerExpr, 'prop-timer', timer[kind] ? timer[kind].body : '', { multiline: true, rows: 2 });
      var apply = function () { applying(function () { setTimer(element, typeInput.value, expr.value.trim()); }); };
      typeInput.addEventListener('change', apply);
      expr.addEventListener('change', apply);
    }
    if (type === 'bpmn:SequenceFlow') {
      field(L.lCondition, 'prop-condition', bo.conditionExpression ? bo.conditionExpression.body : '',
        { multiline: true, rows: 2, onchange: function (v) { setCondition(element, v.trim()); } });
    }
    if (type === 'bpmn:ScriptTask') {
      field(L.lScript, 'prop-script', bo.script || '',
        { multiline: true, rows: 8, onchange: function (v) { modeling.updateProperties(element, { script: v }); } });
    }
  }

  var datalist = document.createElement('datalist');
  datalist.id = 'ztc-forms';
  forms.forEach(function (f) { var o = document.createElement('option'); o.value = f; datalist.appendChild(o); });
  document.body.appendChild(datalist);

  modeler.on('selection.changed', function (e) { render(e.newSelection.length === 1 ? e.newSelection[0] : null); });
  modeler.on('element.changed', function (e) {
    if (!busy && current && e.element === current && !panel.contains(document.activeElement)) render(current);
  });

  // -- validate / deploy, problems marked on the canvas ------------------------------------
  var marked = [];
  function markProblems(problems) {
    marked.forEach(function (id) { if (registry.get(id)) canvas.removeMarker(id, 'problem'); });
    marked = [];
    problems.forEach(function (p) {
      if (p.element_id && p.file === fileName && registry.get(p.element_id)) {
        canvas.addMarker(p.element_id, 'problem');
        marked.push(p.element_id);
      }
    });
    canvasEl.setAttribute('data-problems', String(marked.length));
  }
  function files() {
    return modeler.saveXML({ format: true }).then(function (r) { var out = {}; out[fileName] = r.xml; return out; });
  }
  document.getElementById('btn-validate').addEventListener('click', function () { E.run('validate', files, markProblems); });
  document.getElementById('btn-deploy').addEventListener('click', function () { E.run('deploy', files, markProblems); });
  document.getElementById('btn-download').addEventListener('click', function () {
    files().then(function (f) { E.download(fileName, f[fileName]); });
  });
  document.addEventListener('click', function (ev) {
    var row = ev.target.closest('tr.problem');
    var id = row && row.getAttribute('data-element');
    if (id && registry.get(id)) { canvas.scrollToElement(registry.get(id)); modeler.get('selection').select(registry.get(id)); }
  });

  E.fetchText(E.root.dataset.src).then(function (xml) {
    return modeler.importXML(xml);
  }).then(function () {
    canvas.zoom('fit-viewport');
    render(null);
    canvasEl.setAttribute('data-ready', '1');
  }).catch(function (err) {
    E.status(String(err && err.message || err), 'error');
    canvasEl.setAttribute('data-error', String(err && err.message || err));
  });
})();
