/* The staff live dashboard (/staff/dashboard/<year>): polls GET /api/kpis/dashboard/<year>?since=<version>
   about once a second and, when reporting's figures changed, updates them in place (no reload).
   The page works without it: it is rendered on the server, with a refresh link.

   `show` and `bars` repeat services/gateway/reporting/dashboard_view.py: keep the two in step. Its
   words and the language's number separators come from the page (data-words: dashboard_view.script_words). */
(function () {
  'use strict';

  var root = document.getElementById('dashboard');
  if (!root || !window.fetch) { return; }

  var INTERVAL_MS = 1000;
  var HIDDEN_INTERVAL_MS = 5000;
  var MAX_BACKOFF_MS = 10000;
  var DASH = '\u2013';
  var NBSP = '\u00a0';
  var STATUS_MARKS = { met: '\u2713', missed: '\u2717', not_measured: '\u2013' };
  var WORDS = JSON.parse(root.getAttribute('data-words'));
  // the charts' drawing area, as in dashboard_view.py
  var PAD_LEFT = 8, PAD_RIGHT = 8, PAD_TOP = 22, PAD_BOTTOM = 26, WIDTH = 600, HEIGHT = 220;
  var PLOT = HEIGHT - PAD_TOP - PAD_BOTTOM;
  var SLOT = (WIDTH - PAD_LEFT - PAD_RIGHT) / 12;
  var BAR = SLOT * 0.64;

  var api = root.getAttribute('data-api');
  var version = root.getAttribute('data-version') || '';
  var statusEl = document.getElementById('live-status');
  var failures = 0;
  var timer = null;
  var stopped = false;

  function tenth(value) { return Math.floor(value * 10 + 0.5) / 10; }

  function threshold(value) { return String(Number(value)); }

  // a pattern's {placeholders} filled in: fill('{n} in alert', {n: 2})
  function fill(pattern, values) {
    return pattern.replace(/\{(\w+)\}/g, function (all, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  }

  function grouped(digits) { return digits.replace(/\B(?=(\d{3})+(?!\d))/g, WORDS.group); }

  function show(value, kind) {
    if (value === null || value === undefined) { return DASH; }
    if (kind === 'pct') {
      var parts = Number(value).toFixed(1).split('.');
      return grouped(parts[0]) + WORDS.decimal + parts[1] + NBSP + '%';
    }
    return grouped(String(Math.trunc(Number(value))));
  }

  function statusText(status) {
    return ((STATUS_MARKS[status] || '') + ' ' + (WORDS.status[status] || status)).trim();
  }

  // `keys` is an array: a key found in events (a goal such as "SD1.OD4") may hold dots
  function get(doc, keys) {
    var value = doc;
    for (var i = 0; i < keys.length; i += 1) {
      if (value === null || value === undefined) { return null; }
      value = Array.isArray(value) ? value[Number(keys[i])] : value[keys[i]];
    }
    return value === undefined ? null : value;
  }

  // data-k and data-status-of name fixed figures, whose keys never hold a dot
  function fixedPath(text) { return text.split('.'); }

  function localDay(isoDate) {
    if (!isoDate) { return ''; }
    var parts = isoDate.split('-');
    return fill(WORDS.day, { day: parts[2], month: parts[1], year: parts[0] });
  }

  function alertReasons(row, rule) {
    var reasons = [];
    (row.alerts || []).forEach(function (kpi) {
      var pattern = WORDS.reasons[kpi];
      reasons.push(pattern
        ? fill(pattern, { satisfaction: threshold(rule.satisfaction_below_pct), nps: threshold(rule.nps_below) })
        : kpi);
    });
    return reasons.join('; ');
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function setText(node, text) {
    if (node.textContent !== text) { node.textContent = text; }
  }

  // ---------------------------------------------------------------- figures, targets, month table

  function updateFigures(doc) {
    var nodes = root.querySelectorAll('[data-k]');
    for (var i = 0; i < nodes.length; i += 1) {
      var node = nodes[i];
      var value = get(doc, fixedPath(node.getAttribute('data-k')));
      var kind = node.getAttribute('data-f');
      setText(node, kind === 'status' ? statusText(value) : show(value, kind));
    }
    var boxes = root.querySelectorAll('[data-status-of]');
    for (var j = 0; j < boxes.length; j += 1) {
      var box = boxes[j];
      var status = get(doc, fixedPath(box.getAttribute('data-status-of')));
      box.className = box.className.replace(/\bstatus-\S+/g, '').trim() + ' status-' + status;
    }
  }

  // ---------------------------------------------------------------- breakdowns

  function compareKeys(a, b) { return a < b ? -1 : (a > b ? 1 : 0); }

  // rebuilt from the document's maps, as dashboard_view.breakdown_rows: keys sorted, a missing count is 0
  function updateBreakdowns(doc) {
    var tables = root.querySelectorAll('table[data-breakdown]');
    for (var i = 0; i < tables.length; i += 1) {
      var table = tables[i];
      var spec = JSON.parse(table.getAttribute('data-breakdown'));
      var labels = JSON.parse(table.getAttribute('data-labels'));
      var maps = spec.columns.map(function (column) { return get(doc, ['annual', spec.section, column[0]]) || {}; });
      var seen = {};
      maps.forEach(function (map) { Object.keys(map).forEach(function (key) { seen[key] = true; }); });
      var keys = Object.keys(seen).sort(compareKeys);
      var fresh = document.createDocumentFragment();
      keys.forEach(function (key) {
        var tr = el('tr');
        var head = el('th', null, Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : key);
        head.setAttribute('scope', 'row');
        tr.appendChild(head);
        spec.columns.forEach(function (column, index) {
          var entry = Object.prototype.hasOwnProperty.call(maps[index], key) ? maps[index][key] : null;
          var value = column[1] ? get(entry, [column[1]]) : entry;
          tr.appendChild(el('td', null, show(value || 0, 'count')));
        });
        fresh.appendChild(tr);
      });
      if (!keys.length) {
        var empty = el('td', null, table.getAttribute('data-empty'));
        empty.setAttribute('colspan', String(spec.columns.length + 1));
        var row = el('tr');
        row.appendChild(empty);
        fresh.appendChild(row);
      }
      table.tBodies[0].replaceChildren(fresh);
    }
  }

  // ---------------------------------------------------------------- charts

  function bars(values, kind) {
    var top = 1;
    if (kind === 'pct') {
      top = 100;
    } else {
      values.forEach(function (v) { if (v !== null && v > top) { top = v; } });
    }
    return values.map(function (value, index) {
      var height = tenth(Math.max(Number(value || 0), 0) / top * PLOT);
      var x = tenth(PAD_LEFT + index * SLOT + (SLOT - BAR) / 2);
      var y = tenth(PAD_TOP + PLOT - height);
      return { x: x, y: y, height: height, labelY: tenth(y - 5), text: show(value, kind).replace(NBSP, '') };
    });
  }

  function updateCharts(doc) {
    var charts = root.querySelectorAll('svg[data-chart]');
    for (var i = 0; i < charts.length; i += 1) {
      var svg = charts[i];
      var key = svg.getAttribute('data-chart');
      var values = doc.months.map(function (row) { return row[key]; });
      var geometry = bars(values, svg.getAttribute('data-kind'));
      var groups = svg.querySelectorAll('g.bar');
      for (var j = 0; j < groups.length && j < geometry.length; j += 1) {
        var rect = groups[j].querySelector('rect');
        var label = groups[j].querySelector('text.value');
        rect.setAttribute('y', geometry[j].y);
        rect.setAttribute('height', geometry[j].height);
        label.setAttribute('y', geometry[j].labelY);
        setText(label, geometry[j].text);
      }
    }
  }

  // ---------------------------------------------------------------- activities and alerts

  function activityRow(row, rule) {
    var tr = el('tr');
    tr.id = 'act-' + row.activity_id;
    tr.setAttribute('data-activity', row.activity_id);
    if (row.alert) { tr.className = 'alert'; }
    var head = el('th');
    head.setAttribute('scope', 'row');
    head.appendChild(el('span', 'name', row.title || row.activity_id));
    head.appendChild(document.createTextNode(' '));
    head.appendChild(el('span', 'meta', (row.kind || '') + ' \u00b7 ' + localDay(row.starts_on)));
    tr.appendChild(head);
    [
      WORDS.activity_status[row.status] || row.status || '',
      show(row.registrations_confirmed, 'count'),
      show(row.registrations_waitlisted, 'count'),
      show(row.registrations_cancelled, 'count'),
      show(row.fill_rate_pct, 'pct'),
      show(row.participants, 'count'),
      show(row.response_rate_pct, 'pct'),
      show(row.satisfaction_pct, 'pct'),
      show(row.nps ? row.nps.score : null, 'score')
    ].forEach(function (text) { tr.appendChild(el('td', null, text)); });
    var alertCell = el('td');
    if (row.alert) {
      var flag = el('strong', 'flag');
      var icon = el('span', null, '\u26a0');
      icon.setAttribute('aria-hidden', 'true');
      flag.appendChild(icon);
      flag.appendChild(document.createTextNode(' ' + WORDS.flag));
      alertCell.appendChild(flag);
      alertCell.appendChild(document.createTextNode(' '));
      alertCell.appendChild(el('span', 'why', alertReasons(row, rule)));
    } else {
      alertCell.textContent = WORDS.no;
    }
    tr.appendChild(alertCell);
    return tr;
  }

  function updateActivities(doc) {
    var body = document.getElementById('activity-rows');
    if (!body) { return; }
    var fresh = document.createDocumentFragment();
    doc.activities.forEach(function (row) { fresh.appendChild(activityRow(row, doc.alert_rule)); });
    if (!doc.activities.length) {
      var empty = el('td', null, WORDS.no_activities);
      empty.setAttribute('colspan', '11');
      var tr = el('tr');
      tr.appendChild(empty);
      fresh.appendChild(tr);
    }
    body.replaceChildren(fresh);

    var alerts = doc.activities.filter(function (row) { return row.alert; });
    var count = document.getElementById('alert-count');
    var list = document.getElementById('alert-list');
    if (count) {
      setText(count, alerts.length
        ? fill(alerts.length === 1 ? WORDS.alert_count_one : WORDS.alert_count_other, { n: alerts.length })
        : WORDS.no_alert);
    }
    if (list) {
      var items = document.createDocumentFragment();
      alerts.forEach(function (row) {
        var item = el('li');
        var link = el('a', null, row.title || row.activity_id);
        link.setAttribute('href', '#act-' + row.activity_id);
        item.appendChild(link);
        item.appendChild(document.createTextNode(': ' + alertReasons(row, doc.alert_rule)));
        items.appendChild(item);
      });
      list.replaceChildren(items);
    }
  }

  // ---------------------------------------------------------------- polling

  function clock() {
    var now = new Date();
    return [now.getHours(), now.getMinutes(), now.getSeconds()].map(function (n) {
      return (n < 10 ? '0' : '') + n;
    }).join(':');
  }

  function say(text, isError) {
    setText(statusEl, text);
    statusEl.parentNode.classList.toggle('error', Boolean(isError));
  }

  function apply(doc) {
    updateFigures(doc);
    updateBreakdowns(doc);
    updateCharts(doc);
    updateActivities(doc);
    version = doc.version;
    root.setAttribute('data-version', version);
    say(fill(WORDS.updated, { time: clock() }), false);
  }

  function schedule(delay) {
    if (stopped) { return; }
    clearTimeout(timer);
    timer = setTimeout(poll, delay);
  }

  function nextDelay() {
    if (failures) { return Math.min(INTERVAL_MS * Math.pow(2, failures), MAX_BACKOFF_MS); }
    return document.hidden ? HIDDEN_INTERVAL_MS : INTERVAL_MS;
  }

  function poll() {
    fetch(api + '?since=' + encodeURIComponent(version), {
      credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' }
    }).then(function (response) {
      if (response.status === 401) {
        stopped = true;
        say(WORDS.signed_out, true);
        return null;
      }
      if (!response.ok) { throw new Error('HTTP ' + response.status); }
      return response.json();
    }).then(function (doc) {
      if (!doc) { return; }
      if (doc.changed) {
        apply(doc);
      } else if (failures) {
        say(fill(WORDS.live_again, { time: clock() }), false);
      }
      failures = 0;
    }).catch(function () {
      failures += 1;
      say(WORDS.failed, true);
    }).then(function () {
      schedule(nextDelay());
    });
  }

  document.addEventListener('visibilitychange', function () {
    if (!document.hidden) { schedule(0); }
  });
  schedule(INTERVAL_MS);
}());
