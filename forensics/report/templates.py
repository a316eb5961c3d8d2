"""The report's two renderings, as Jinja2 templates: Markdown and self-contained HTML."""

MARKDOWN = r"""# {{ title }}

Run directory `{{ run_name }}` · {{ replications }} replications · master seed {{ master_seed }} ·
report generated {{ generated_utc }} by leechsim {{ tool_version }}

## 1. Question and answer

**Question.** {{ question }}

**Answer.** {{ answer }}

| Quantity | Median | 90% interval (p5 – p95) | Mean | n |
|---|---:|---:|---:|---:|
{% for r in headline %}| {{ r.label }} | {{ r.median|cell }} | {{ r.interval|cell }} | {{ r.mean|cell }} | {{ r.n }} |
{% endfor %}
{{ interval_note }}
{% if observed %}
### Observed against simulated

{{ observed.text }}

| Policy | Evidence | Observed | Simulated 90% interval | Widened by the model error | Percentile | Inside | Likelihood ratio vs as run |
|---|---|---:|---:|---:|---:|---|---:|
{% for r in observed.rows %}| {{ r.policy|cell }} | {{ r.quantity|cell }} | {{ r.observed|cell }} | {{ r.interval|cell }} | {{ r.widened|cell }} | {{ r.percentile }} | {{ r.inside }} | {{ r.lr|cell }} |
{% endfor %}
![Observed against simulated](figures/{{ figures.observed.file }})

Every policy's numbers: `report-data/observed.csv`.
{% endif %}
## 2. Scenario and assumptions

Scenario **{{ scenario_name }}**{% if description %}: {{ description }}{% endif %}. Scenario file SHA-256 `{{ scenario_sha256 }}`.
{{ sources_note }}

| Parameter | Value | Source | Note |
|---|---|---|---|
{% for p in parameters %}| `{{ p.key }}` | {{ p.value|cell }} | {{ p.source }} | {{ p.note|cell }} |
{% endfor %}

## 3. Method

{% for para in method %}{{ para }}

{% endfor %}What it simplifies (details and the reasons they are acceptable: `docs/model.md`):

{% for s in simplifications %}- {{ s }}
{% endfor %}

## 4. Results

### 4.1 Distribution of the subject's upload

![Subject upload over replications](figures/{{ figures.upload_distribution.file }})

### 4.2 Cumulative upload and download over time

![Cumulative upload and download](figures/{{ figures.cumulative.file }})

### 4.3 Uploads per receiving peer

![Uploads per receiving peer](figures/{{ figures.recipients.file }})

{{ recipients_note }}

| Peer | Role | Joined | Completed | Upload capacity | Bytes from the subject |
|---:|---|---:|---:|---:|---:|
{% for r in recipients %}| {{ r.peer }} | {{ r.role }} | {{ r.join }} | {{ r.complete }} | {{ r.capacity|cell }} | {{ r.bytes|cell }} |
{% endfor %}

### 4.4 Which files: per-file exposure

{{ files_note }}

| File | Size | Pieces | Bytes uploaded (median) | 90% interval | Pieces sent whole (median) | Complete copy to one peer (share of replications) |
|---|---:|---:|---:|---:|---:|---:|
{% for f in files %}| `{{ f.path|cell }}` | {{ f.size|cell }} | {{ f.pieces }} | {{ f.bytes|cell }} | {{ f.interval|cell }} | {{ f.pieces_complete }} | {{ f.copy_share }} |
{% endfor %}

### 4.5 Exposure to a monitoring peer

{{ monitor_note }}

| A leecher present while the subject was in the swarm received from the subject … | Probability (pooled) | 90% interval over replications | Replications where at least one did |
|---|---:|---:|---:|
{% for m in monitor %}| {{ m.label }} | {{ m.pooled }} | {{ m.interval }} | {{ m.any }} |
{% endfor %}

## 5. Counterfactuals: what did the settings change?

{% if counterfactuals.rows %}{{ counterfactuals.note }}

| Subject | Upload while leeching (median) | After completion (median) | Total (median) | Total, 90% interval | Change in median total | Download time (median) | Completed |
|---|---:|---:|---:|---:|---:|---:|---:|
{% for r in counterfactuals.rows %}| {{ r.label }} | {{ r.leech|cell }} | {{ r.seed|cell }} | {{ r.total|cell }} | {{ r.total_interval|cell }} | {{ r.change }} | {{ r.time }} | {{ r.completed }} |
{% endfor %}
![Counterfactuals](figures/{{ figures.counterfactuals.file }})
{% else %}{{ counterfactuals.note }}
{% endif %}

## 6. Sensitivity

{% if sensitivity.rows %}{{ sensitivity.note }}

| Parameter | Range (low – high) | Median at low end | Median at high end | Swing | Why this range |
|---|---|---:|---:|---:|---|
{% for r in sensitivity.rows %}| {{ r.label }} (`{{ r.key }}`) | {{ r.range|cell }} | {{ r.low|cell }} | {{ r.high|cell }} | {{ r.swing|cell }} | {{ r.why|cell }} |
{% endfor %}
![Sensitivity tornado](figures/{{ figures.tornado.file }})
{% else %}{{ sensitivity.note }}
{% endif %}

## 7. Error rate

{{ error_rate.text }}
{% if error_rate.rows %}
| {% for h in error_rate.header %}{{ h }} | {% endfor %}
|{% for h in error_rate.header %}---|{% endfor %}
{% for row in error_rate.rows %}| {% for c in row %}{{ c|cell }} | {% endfor %}
{% endfor %}{% endif %}

## 8. Reproducibility

| Manifest field | Value |
|---|---|
{% for k, v in manifest_rows %}| {{ k }} | {{ v|cell }} |
{% endfor %}

The hash list (`SHA256SUMS`) proves only that no file changed by accident since the run was
written: anyone who edits a file can also re-hash it, and nothing here is signed. That the results
follow from the manifest's inputs is shown only by re-running them. Re-run and check every output
byte for byte:

```
{{ verify_command }}
```

The same simulation by hand (writes a new run directory):

```
{{ rerun_command }}
```

Counterfactuals and sensitivity figures in this report are recomputed by:

```
{{ report_command }}
```
"""

HTML = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ title }}</title>
<style>
  body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #222; margin: 0 auto;
         max-width: 1100px; padding: 24px 32px; box-sizing: border-box; line-height: 1.45; font-size: 15px; }
  h1 { font-size: 26px; margin-bottom: 4px; }
  h2 { font-size: 20px; border-bottom: 2px solid #ccc; padding-bottom: 3px; margin-top: 36px; }
  h3 { font-size: 16px; margin-top: 24px; }
  .meta { color: #555; font-size: 13px; }
  .answer { background: #f3f7fb; border-left: 4px solid #1f77b4; padding: 10px 16px; }
  table { border-collapse: collapse; margin: 12px 0; font-size: 13px; max-width: 100%; }
  td code { overflow-wrap: break-word; }
  .scroll { overflow-x: auto; max-width: 100%; }
  .exact { color: #666; font-size: 11.5px; }
  th, td { border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; }
  th { background: #f0f0f0; text-align: left; }
  td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
  code, pre { font-family: "DejaVu Sans Mono", monospace; font-size: 12.5px; }
  pre { background: #f6f6f6; padding: 8px 12px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
  figure { margin: 12px 0; }
  figure img { max-width: 100%; border: 1px solid #eee; }
  figcaption { color: #555; font-size: 13px; }
  .src-evidence { color: #176117; font-weight: bold; }
  .src-assumed { color: #9a5a00; font-weight: bold; }
  .note { color: #444; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p class="meta">Run directory <code>{{ run_name }}</code> · {{ replications }} replications · master seed {{ master_seed }} ·
report generated {{ generated_utc }} by leechsim {{ tool_version }}</p>

<h2 id="answer">1. Question and answer</h2>
<p><strong>Question.</strong> {{ question|inline }}</p>
<div class="answer"><p><strong>Answer.</strong> {{ answer|inline }}</p></div>
<div class="scroll"><table>
<tr><th>Quantity</th><th>Median</th><th>90% interval (p5 – p95)</th><th>Mean</th><th>n</th></tr>
{% for r in headline %}<tr><td>{{ r.label }}</td><td class="num">{{ r.median|num }}</td><td class="num">{{ r.interval|num }}</td><td class="num">{{ r.mean|num }}</td><td class="num">{{ r.n|num }}</td></tr>
{% endfor %}</table></div>
<p class="note">{{ interval_note|inline }}</p>
{% if observed %}<h3 id="observed">Observed against simulated</h3>
<div class="answer"><p>{{ observed.text|inline }}</p></div>
<div class="scroll"><table>
<tr><th>Policy</th><th>Evidence</th><th>Observed</th><th>Simulated 90% interval</th><th>Widened by the model error</th><th>Percentile</th><th>Inside</th><th>Likelihood ratio vs as run</th></tr>
{% for r in observed.rows %}<tr><td>{{ r.policy }}</td><td>{{ r.quantity }}</td><td class="num">{{ r.observed|num }}</td><td class="num">{{ r.interval|num }}</td><td class="num">{{ r.widened|num }}</td><td class="num">{{ r.percentile }}</td><td>{{ r.inside }}</td><td class="num">{{ r.lr }}</td></tr>
{% endfor %}</table></div>
<figure><img alt="Observed against simulated" src="data:image/png;base64,{{ figures.observed.b64 }}"></figure>
<p class="note">Every policy's numbers: <code>report-data/observed.csv</code>.</p>
{% endif %}
<h2 id="scenario">2. Scenario and assumptions</h2>
<p>Scenario <strong>{{ scenario_name }}</strong>{% if description %}: {{ description }}{% endif %}. Scenario file SHA-256 <code>{{ scenario_sha256 }}</code>.</p>
<p class="note">{{ sources_note|inline }}</p>
<div class="scroll"><table>
<tr><th>Parameter</th><th>Value</th><th>Source</th><th>Note</th></tr>
{% for p in parameters %}<tr><td><code>{{ p.key }}</code></td><td>{{ p.value }}</td><td class="src-{{ p.source|replace(' ', '-') }}">{{ p.source }}</td><td>{{ p.note }}</td></tr>
{% endfor %}</table></div>

<h2 id="method">3. Method</h2>
{% for para in method %}<p>{{ para }}</p>
{% endfor %}<p>What it simplifies (details and the reasons they are acceptable: <code>docs/model.md</code>):</p>
<ul>{% for s in simplifications %}<li>{{ s }}</li>{% endfor %}</ul>

<h2 id="results">4. Results</h2>
<h3>4.1 Distribution of the subject's upload</h3>
<figure><img alt="Subject upload over replications" src="data:image/png;base64,{{ figures.upload_distribution.b64 }}"></figure>
<h3>4.2 Cumulative upload and download over time</h3>
<figure><img alt="Cumulative upload and download" src="data:image/png;base64,{{ figures.cumulative.b64 }}"></figure>
<h3>4.3 Uploads per receiving peer</h3>
<figure><img alt="Uploads per receiving peer" src="data:image/png;base64,{{ figures.recipients.b64 }}"></figure>
<p class="note">{{ recipients_note|inline }}</p>
<div class="scroll"><table>
<tr><th>Peer</th><th>Role</th><th>Joined</th><th>Completed</th><th>Upload capacity</th><th>Bytes from the subject</th></tr>
{% for r in recipients %}<tr><td class="num">{{ r.peer|num }}</td><td>{{ r.role }}</td><td class="num">{{ r.join|num }}</td><td class="num">{{ r.complete|num }}</td><td class="num">{{ r.capacity|num }}</td><td class="num">{{ r.bytes|num }}</td></tr>
{% endfor %}</table></div>
<h3>4.4 Which files: per-file exposure</h3>
<p class="note">{{ files_note|inline }}</p>
<div class="scroll"><table>
<tr><th>File</th><th>Size</th><th>Pieces</th><th>Bytes uploaded (median)</th><th>90% interval</th><th>Pieces sent whole (median)</th><th>Complete copy to one peer (share of replications)</th></tr>
{% for f in files %}<tr><td><code>{{ f.path }}</code></td><td class="num">{{ f.size|num }}</td><td class="num">{{ f.pieces|num }}</td><td class="num">{{ f.bytes|num }}</td><td class="num">{{ f.interval|num }}</td><td class="num">{{ f.pieces_complete|num }}</td><td class="num">{{ f.copy_share|num }}</td></tr>
{% endfor %}</table></div>
<h3>4.5 Exposure to a monitoring peer</h3>
<p class="note">{{ monitor_note|inline }}</p>
<div class="scroll"><table>
<tr><th>A leecher present while the subject was in the swarm received from the subject …</th><th>Probability (pooled)</th><th>90% interval over replications</th><th>Replications where at least one did</th></tr>
{% for m in monitor %}<tr><td>{{ m.label }}</td><td class="num">{{ m.pooled|num }}</td><td class="num">{{ m.interval|num }}</td><td class="num">{{ m.any|num }}</td></tr>
{% endfor %}</table></div>

<h2 id="counterfactuals">5. Counterfactuals: what did the settings change?</h2>
<p class="note">{{ counterfactuals.note|inline }}</p>
{% if counterfactuals.rows %}<div class="scroll"><table>
<tr><th>Subject</th><th>Upload while leeching (median)</th><th>After completion (median)</th><th>Total (median)</th><th>Total, 90% interval</th><th>Change in median total</th><th>Download time (median)</th><th>Completed</th></tr>
{% for r in counterfactuals.rows %}<tr><td>{{ r.label }}</td><td class="num">{{ r.leech|num }}</td><td class="num">{{ r.seed|num }}</td><td class="num">{{ r.total|num }}</td><td class="num">{{ r.total_interval|num }}</td><td class="num">{{ r.change|num }}</td><td class="num">{{ r.time|num }}</td><td class="num">{{ r.completed|num }}</td></tr>
{% endfor %}</table></div>
<figure><img alt="Counterfactuals" src="data:image/png;base64,{{ figures.counterfactuals.b64 }}"></figure>{% endif %}

<h2 id="sensitivity">6. Sensitivity</h2>
<p class="note">{{ sensitivity.note|inline }}</p>
{% if sensitivity.rows %}<div class="scroll"><table>
<tr><th>Parameter</th><th>Range (low – high)</th><th>Median at low end</th><th>Median at high end</th><th>Swing</th><th>Why this range</th></tr>
{% for r in sensitivity.rows %}<tr><td>{{ r.label }} (<code>{{ r.key }}</code>)</td><td>{{ r.range }}</td><td class="num">{{ r.low|num }}</td><td class="num">{{ r.high|num }}</td><td class="num">{{ r.swing|num }}</td><td>{{ r.why }}</td></tr>
{% endfor %}</table></div>
<figure><img alt="Sensitivity tornado" src="data:image/png;base64,{{ figures.tornado.b64 }}"></figure>{% endif %}

<h2 id="error-rate">7. Error rate</h2>
<p>{{ error_rate.text|inline }}</p>
{% if error_rate.rows %}<div class="scroll"><table>
<tr>{% for h in error_rate.header %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in error_rate.rows %}<tr>{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</table></div>{% endif %}

<h2 id="reproducibility">8. Reproducibility</h2>
<div class="scroll"><table>
<tr><th>Manifest field</th><th>Value</th></tr>
{% for k, v in manifest_rows %}<tr><td>{{ k }}</td><td><code>{{ v }}</code></td></tr>
{% endfor %}</table></div>
<p>The hash list (<code>SHA256SUMS</code>) proves only that no file changed by accident since the run was
written: anyone who edits a file can also re-hash it, and nothing here is signed. That the results follow
from the manifest's inputs is shown only by re-running them. Re-run and check every output byte for byte:</p>
<pre>{{ verify_command }}</pre>
<p>The same simulation by hand (writes a new run directory):</p>
<pre>{{ rerun_command }}</pre>
<p>Counterfactuals and sensitivity in this report are recomputed by:</p>
<pre>{{ report_command }}</pre>
</body>
</html>
"""
