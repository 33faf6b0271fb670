// The BPMN modeler (bpmn-js) with our side panel: name, the task properties of
// docs/CONVENTIONS.md (spiffworkflow:properties: form, candidate groups, due date, summary, notify,
// prefill, context), a business rule task's decision (spiffworkflow:calledDecisionId), a call
// activity's called process and binding (engine/binding.py), a multi-instance activity's
// collection and element variable, timer expressions, conditions, scripts.
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

  var modeler = new BpmnJS({ container: canvasEl });  // keyboard shortcuts: implicit when the canvas has focus
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

  // -- extension elements with a text body (spiffworkflow:calledDecisionId) -------------------
  function extChild(bo, local) {
    var ext = bo.extensionElements;
    return ext && (ext.values || []).filter(function (v) { return isLocal(v, local); })[0] || null;
  }
  function getExtText(bo, local) {
    var found = extChild(bo, local);
    return found ? (found.$body || '') : '';
  }
  function setExtText(element, local, value) {
    var bo = element.businessObject;
    var found = extChild(bo, local);
    if (!value) {
      if (found) bo.extensionElements.values.splice(bo.extensionElements.values.indexOf(found), 1);
    } else if (found) {
      found.$body = value;
    } else {
      var ext = bo.extensionElements;
      if (!ext) {
        ext = moddle.create('bpmn:ExtensionElements', { values: [] });
        ext.$parent = bo;
        bo.extensionElements = ext;
      }
      var child = moddle.createAny('spiffworkflow:' + local, SPIFF_NS, {});
      child.$body = value;
      child.$parent = ext;
      ext.values = ext.values || [];
      ext.values.push(child);
    }
    modeling.updateProperties(element, {});
  }

  // -- multi-instance: collection (loopDataInputRef) and element variable (inputDataItem) -----
  // SpiffWorkflow reads loopDataInputRef's text as a variable name; bpmn-moddle reads it as a
  // reference to an element with that id and drops it when there is none (a plain variable, not a
  // data object). The names are read from the XML before import and put back after it.
  var loopRefs = {};
  function readLoopRefs(xml) {
    loopRefs = {};
    try {
      var doc = new DOMParser().parseFromString(xml, 'application/xml');
      ['loopDataInputRef', 'loopDataOutputRef'].forEach(function (tag) {
        var found = doc.getElementsByTagNameNS('http://www.omg.org/spec/BPMN/20100524/MODEL', tag);
        for (var i = 0; i < found.length; i++) {
          var task = found[i].parentNode && found[i].parentNode.parentNode;
          var id = task && task.getAttribute && task.getAttribute('id');
          if (id) { loopRefs[id] = loopRefs[id] || {}; loopRefs[id][tag] = (found[i].textContent || '').trim(); }
        }
      });
    } catch (e) { loopRefs = {}; }
  }
  function refTo(bo, name) {  // a data object of the process with that id, else a detached reference
    var holder = bo.$parent;
    var own = holder && (holder.flowElements || []).filter(function (f) {
      return f.id === name && f.$type === 'bpmn:DataObject'; })[0];
    return own || moddle.create('bpmn:Property', { id: name, name: name });
  }
  function restoreLoopRefs() {
    registry.filter(function (e) { return loopRefs[e.id]; }).forEach(function (e) {
      var loop = e.businessObject.loopCharacteristics;
      if (!loop || loop.$type !== 'bpmn:MultiInstanceLoopCharacteristics') return;
      ['loopDataInputRef', 'loopDataOutputRef'].forEach(function (tag) {
        var name = loopRefs[e.id][tag];
        if (name && !loop[tag]) loop[tag] = refTo(e.businessObject, name);
      });
    });
  }
  function miOf(bo) {
    var loop = bo.loopCharacteristics;
    return loop && loop.$type === 'bpmn:MultiInstanceLoopCharacteristics' ? loop : null;
  }
  function setCollection(element, name) {
    var loop = miOf(element.businessObject);
    modeling.updateModdleProperties(element, loop, {
      loopDataInputRef: name ? refTo(element.businessObject, name) : undefined });
  }
  function setElementVariable(element, name) {
    var loop = miOf(element.businessObject);
    modeling.updateModdleProperties(element, loop, {
      inputDataItem: name ? moddle.create('bpmn:DataInput', { id: name, name: name }) : undefined });
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

  // a link beside a form or decision field: that file of this version in its editor (a new tab,
  // so the diagram's unsaved edits stay)
  var versionFiles = listOf('files');
  var decisionFiles = {};
  try { decisionFiles = JSON.parse(L.decisionFiles || '{}'); } catch (e) { decisionFiles = {}; }
  function openLink(input, id, label, fileOf) {
    var a = document.createElement('a');
    a.id = id; a.className = 'open-file small'; a.target = '_blank'; a.rel = 'noopener'; a.textContent = label;
    function update() {
      var file = fileOf(input.value.trim());
      a.hidden = !file || versionFiles.indexOf(file) < 0;
      if (!a.hidden) a.href = L.editUrl.replace(/FILE$/, encodeURIComponent(file));
    }
    input.addEventListener('input', update);
    update();
    panel.appendChild(a);
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
      var form = field(L.lForm, 'prop-form', getProp(bo, 'formJsonSchemaFilename'),
        { list: 'ztc-forms', onchange: function (v) { setProp(element, 'formJsonSchemaFilename', v.trim()); } });
      openLink(form, 'open-form', L.lOpenForm, function (v) { return v; });
      field(L.lUiform, 'prop-uiform', getProp(bo, 'formUiSchemaFilename'),
        { onchange: function (v) { setProp(element, 'formUiSchemaFilename', v.trim()); } });
      field(L.lGroups, 'prop-groups', getProp(bo, 'candidateGroups'),
        { onchange: function (v) { setProp(element, 'candidateGroups', v.trim()); } });
      field(L.lDue, 'prop-due', getProp(bo, 'dueDate'),
        { onchange: function (v) { setProp(element, 'dueDate', v.trim()); } });
    }
    if (type === 'bpmn:UserTask' || type === 'bpmn:ManualTask') {
      field(L.lPrefill, 'prop-prefill', getProp(bo, 'prefill'),
        { onchange: function (v) { setProp(element, 'prefill', v.trim()); } });
      field(L.lContext, 'prop-context', getProp(bo, 'context'),
        { onchange: function (v) { setProp(element, 'context', v.trim()); } });
    }
    if (type === 'bpmn:BusinessRuleTask') {
      var decision = field(L.lDecision, 'prop-decision', getExtText(bo, 'calledDecisionId'),
        { list: 'ztc-decisions', onchange: function (v) { setExtText(element, 'calledDecisionId', v.trim()); } });
      openLink(decision, 'open-decision', L.lOpenDecision, function (v) { return decisionFiles[v]; });
    }
    if (type === 'bpmn:CallActivity') {
      field(L.lCalled, 'prop-called', bo.calledElement || '', { list: 'ztc-processes', onchange: function (v) {
        modeling.updateProperties(element, { calledElement: v.trim() || undefined }); } });
      var attrs = bo.$attrs || {};
      var binding = getProp(bo, 'calledElementBinding') || attrs['camunda:calledElementBinding'] || 'latest';
      var versionInput;
      var bindingInput = field(L.lBinding, 'prop-binding', binding, { options: [
        ['latest', L.lBindLatest], ['deployment', L.lBindDeployment], ['version', L.lBindVersion]],
        onchange: function (v) {
          setProp(element, 'calledElementBinding', v === 'latest' ? '' : v);
          if (v !== 'version') setProp(element, 'calledElementVersion', '');
          versionInput.disabled = v !== 'version';
        } });
      versionInput = field(L.lCalledVersion, 'prop-called-version',
        getProp(bo, 'calledElementVersion') || attrs['camunda:calledElementVersion'] || '', { onchange: function (v) {
          setProp(element, 'calledElementVersion', v.trim()); } });
      versionInput.type = 'number';
      versionInput.min = '1';
      versionInput.disabled = bindingInput.value !== 'version';
    }
    var mi = miOf(bo);
    if (mi) {
      field(L.lCollection, 'prop-mi-collection', mi.loopDataInputRef ? (mi.loopDataInputRef.id || '') : '',
        { onchange: function (v) { setCollection(element, v.trim()); } });
      field(L.lElementVar, 'prop-mi-element', mi.inputDataItem ? (mi.inputDataItem.name || mi.inputDataItem.id || '') : '',
        { onchange: function (v) { setElementVariable(element, v.trim()); } });
    }
    if (isTask || /Event$/.test(type)) {
      field(L.lSummary, 'prop-summary', getProp(bo, 'summary'),
        { multiline: true, onchange: function (v) { setProp(element, 'summary', v.trim()); } });
      field(L.lNotify, 'prop-notify', getProp(bo, 'notify'),
        { multiline: true, onchange: function (v) { setProp(element, 'notify', v.trim()); } });
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

  function datalist(id, values) {
    var list = document.createElement('datalist');
    list.id = id;
    values.forEach(function (f) { var o = document.createElement('option'); o.value = f; list.appendChild(o); });
    document.body.appendChild(list);
  }
  function listOf(key) { try { return JSON.parse(L[key] || '[]'); } catch (e) { return []; } }
  datalist('ztc-forms', forms);
  datalist('ztc-decisions', listOf('decisions'));
  datalist('ztc-processes', listOf('processes'));

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

  // zoom: the whole diagram fits at first; these buttons (around the selected element) and Ctrl +
  // mouse wheel zoom in to read it
  function zoomButtons() {
    var box = document.createElement('div');
    box.className = 'zoom-controls';
    function around() {  // the selected element stays where it is on screen, else the middle of the view
      var el = current && current.width ? current : null;
      if (!el) return 'auto';
      var vb = canvas.viewbox();
      return { x: (el.x + el.width / 2 - vb.x) * vb.scale, y: (el.y + el.height / 2 - vb.y) * vb.scale };
    }
    [['zoom-in', '+', L.lZoomIn, function () { canvas.zoom(canvas.zoom() * 1.25, around()); }],
     ['zoom-out', '−', L.lZoomOut, function () { canvas.zoom(canvas.zoom() / 1.25, around()); }],
     ['zoom-fit', '⤢', L.lZoomFit, function () { canvas.zoom('fit-viewport'); }]].forEach(function (z) {
      var b = document.createElement('button');
      b.type = 'button'; b.id = z[0]; b.className = 'btn'; b.textContent = z[1]; b.title = z[2];
      b.setAttribute('aria-label', z[2]);
      b.addEventListener('click', z[3]);
      box.appendChild(b);
    });
    canvasEl.appendChild(box);
  }

  E.fetchText(E.root.dataset.src).then(function (xml) {
    readLoopRefs(xml);
    return modeler.importXML(xml);
  }).then(function () {
    restoreLoopRefs();
    canvas.zoom('fit-viewport');
    zoomButtons();
    render(null);
    canvasEl.setAttribute('data-ready', '1');
  }).catch(function (err) {
    E.status(String(err && err.message || err), 'error');
    canvasEl.setAttribute('data-error', String(err && err.message || err));
  });
})();
