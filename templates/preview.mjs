#!/usr/bin/env node
// Renders templates/report.html.hbs the way src/report/html.rs does, without Rust:
//
//   node templates/preview.mjs DATA.json OUT.html         DATA: {results, rules, evidence} or a bare results file
//   node templates/preview.mjs --synthetic N OUT.html     generated data: N findings, hostile names included
//        [--seed S] [--no-baseline] [--no-history] [--save-data FILE]
//
// Needs the npm package `handlebars`, found through NODE_PATH, the HANDLEBARS_MODULE variable,
// or /tmp/hbs (npm install --no-save --prefix /tmp/hbs handlebars). Nothing is added to the repo.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

function loadHandlebars() {
  const tries = [process.env.HANDLEBARS_MODULE, 'handlebars', '/tmp/hbs/node_modules/handlebars'].filter(Boolean);
  for (const t of tries) {
    try { return require(t); } catch { /* next */ }
  }
  console.error('preview: the npm package handlebars is missing; run: npm install --no-save --prefix /tmp/hbs handlebars');
  process.exit(2);
}

// The same escaping as script_safe_json in src/report/html.rs: nothing inside the JSON can end
// the <script> element or break a JavaScript parser.
export function scriptSafeJson(value) {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

// The template may only use the three context keys the Rust side provides; a stray pair of
// braces in the CSS or JS would otherwise silently become an (empty) expression.
function checkTemplate(Handlebars, source) {
  const allowed = { title: 'escaped', generated_at: 'escaped', data_json: 'raw' };
  const ast = Handlebars.parse(source);
  for (const node of ast.body) {
    if (node.type === 'ContentStatement' || node.type === 'CommentStatement') continue;
    const name = node.path && node.path.original;
    const line = node.loc ? node.loc.start.line : '?';
    if (node.type !== 'MustacheStatement' || !(name in allowed) || node.params.length || node.hash) {
      throw new Error(`template line ${line}: unexpected handlebars expression (${node.type} ${name || ''})`);
    }
    if ((allowed[name] === 'raw') !== !node.escaped) {
      throw new Error(`template line ${line}: ${name} must be ${allowed[name] === 'raw' ? 'triple-stashed' : 'escaped'}`);
    }
  }
}

export function render(data, templatePath = join(here, 'report.html.hbs')) {
  const Handlebars = loadHandlebars();
  const source = readFileSync(templatePath, 'utf8');
  checkTemplate(Handlebars, source);
  const results = data.results || {};
  const snapshot = results.snapshot || {};
  const title = snapshot.organization_id ? `s3audit report: organization ${snapshot.organization_id}` : 's3audit report';
  // html.rs renders in strict mode: a missing key is an error there, so it is one here too.
  const template = Handlebars.compile(source, { strict: true });
  return template({ title, generated_at: snapshot.started_at || '', data_json: scriptSafeJson(data) });
}

// ---------- synthetic data ----------
function rng(seed) { // mulberry32: small, deterministic
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTILE = ['<img src=x onerror=alert(1)>', '</script><script>alert(2)</script>', '"><svg onload=alert(3)>',
  "'-alert(4)-'", '{{constructor.constructor(\'alert(5)\')()}}', '\u2028line\u2029separators'];

const RULE_DEFS = [
  ['bucket-public-write', 'critical', 'Bucket allows public write access', ['aws-fsbp:S3.3'], ['bucket.acl', 'bucket.policy']],
  ['bucket-public-read', 'high', 'Bucket allows public read access', ['aws-fsbp:S3.2'], ['bucket.acl', 'bucket.policy']],
  ['bucket-policy-public', 'high', 'Bucket policy grants access to everyone', ['aws-fsbp:S3.2', 'cis-aws-foundations-v3:2.1.4'], ['bucket.policy']],
  ['bucket-public-access-block-disabled', 'high', 'Bucket-level Block Public Access is not fully enabled', ['aws-fsbp:S3.8'], ['bucket.public_access_block']],
  ['bucket-tls-not-enforced', 'medium', 'Bucket policy does not deny requests without TLS', ['aws-fsbp:S3.5', 'cis-aws-foundations-v3:2.1.1'], ['bucket.policy']],
  ['bucket-versioning-disabled', 'medium', 'Bucket versioning is not enabled', ['aws-fsbp:S3.14'], ['bucket.versioning']],
  ['bucket-default-encryption-not-kms', 'medium', 'Bucket default encryption does not use AWS KMS', ['aws-fsbp:S3.17'], ['bucket.encryption']],
  ['bucket-acls-enabled', 'medium', 'Bucket ACLs are enabled (Object Ownership is not BucketOwnerEnforced)', ['aws-fsbp:S3.12'], ['bucket.ownership_controls']],
  ['bucket-server-access-logging-disabled', 'medium', 'Bucket server access logging is not enabled', ['aws-fsbp:S3.9'], ['bucket.logging']],
  ['bucket-lifecycle-missing', 'low', 'Bucket has no enabled lifecycle rule', ['aws-fsbp:S3.13'], ['bucket.lifecycle']],
  ['bucket-mfa-delete-disabled', 'low', 'Bucket MFA delete is not enabled', ['aws-fsbp:S3.20', 'cis-aws-foundations-v3:2.1.2'], ['bucket.versioning']],
  ['bucket-object-lock-disabled', 'info', 'Bucket Object Lock is not enabled', ['aws-fsbp:S3.15'], ['bucket.object_lock']],
];

function sectionValue(section, name, r) {
  switch (section) {
    case 'bucket.acl': return { owner_id: 'owner-' + name, grants: [{ grantee_type: 'Group', grantee_uri: 'http://acs.amazonaws.com/groups/global/AllUsers', permission: r() < 0.5 ? 'READ' : 'WRITE' }] };
    case 'bucket.policy': return JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: r() < 0.1 ? HOSTILE[0] : 'PublicRead', Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${name}/*` }] });
    case 'bucket.public_access_block': return { block_public_acls: false, ignore_public_acls: false, block_public_policy: r() < 0.5, restrict_public_buckets: false };
    case 'bucket.versioning': return { status: r() < 0.5 ? 'Suspended' : 'Disabled', mfa_delete: 'Disabled' };
    case 'bucket.encryption': return { rules: [{ sse_algorithm: 'AES256', bucket_key_enabled: false }] };
    case 'bucket.ownership_controls': return { object_ownership: 'ObjectWriter' };
    default: return null;
  }
}

export function synthetic(n, { seed = 42, baseline = true, history = true } = {}) {
  const r = rng(seed);
  const pick = (xs) => xs[Math.floor(r() * xs.length)];
  const regions = ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2'];
  const words = ['payments', 'ledger', 'analytics', 'logs', 'backup', 'media', 'uploads', 'exports', 'ml-data', 'reports', 'static', 'archive'];
  const bucketsWanted = Math.max(6, Math.ceil(n / 6));
  const accountCount = Math.max(3, Math.min(200, Math.ceil(bucketsWanted / 60)));
  const accounts = [];
  for (let a = 0; a < accountCount; a++) {
    const id = String(100000000000 + a * 111111111).padStart(12, '0');
    accounts.push({ id, name: a === 1 ? HOSTILE[2] : `${pick(['prod', 'dev', 'staging', 'data', 'sandbox'])}-${a}`, status: 'audited', buckets: 0, findings: 0, unknown: 0 });
  }
  accounts.push({ id: '999988887777', name: 'legacy', status: 'failed', buckets: 0, findings: 0, unknown: 0,
    problems: ['could not be entered: AccessDenied: User: arn:aws:iam::111122223333:user/auditor is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::999988887777:role/OrganizationAccountAccessRole'] });
  accounts[2].status = 'partial';
  accounts[2].problems = ['s3:GetBucketPolicy was denied on 3 buckets'];

  const rules = {};
  const ruleResults = [];
  for (const [id, severity, title, mappings, requires] of RULE_DEFS) {
    rules[id] = {
      title, severity, resource: 'bucket', message: `${title}; see the evidence for the configuration that was read.`,
      what: `The bucket's configuration does not meet \`${id}\`.`, why: 'Misconfigured buckets are the most common cause of S3 data exposure.',
      remediation: { console: 'S3 console → the bucket → Permissions → Edit → Save changes.', cli: `aws s3api put-bucket-... --bucket BUCKET \\\n  --example "${id}"`, terraform: 'resource "aws_s3_bucket_public_access_block" "this" {\n  bucket = aws_s3_bucket.this.id\n}' },
      references: ['https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html', ...(id === 'bucket-public-read' ? ['javascript:alert(6)'] : [])],
      mappings, requires,
    };
    ruleResults.push({ id, title, severity, resource: 'bucket', mappings, pass: 0, fail: 0, unknown: 0, not_applicable: 0 });
  }
  const order = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };
  const findings = [], evidence = {}, unknown = [], fixed = [];
  let buckets = 0;
  while (findings.length < n) {
    const acct = accounts[buckets % accountCount];
    const region = pick(regions);
    const name = buckets < HOSTILE.length ? HOSTILE[buckets] : `${acct.name.replace(/[^a-z0-9-]/g, '')}-${pick(words)}-${buckets}`;
    const arn = `arn:aws:s3:::${name}`;
    buckets++; acct.buckets++;
    const ev = evidence[arn] = { 'bucket.tags': { state: 'present', value: { owner: buckets % 7 ? 'team-' + (buckets % 13) : HOSTILE[1], env: pick(['prod', 'dev']) } } };
    for (const def of RULE_DEFS) {
      if (findings.length >= n || r() > 0.5) continue;
      const [rid, severity, , , requires] = def;
      const f = { rule_id: rid, severity, resource: { kind: 'bucket', account_id: acct.id, region, name, arn }, fingerprint: (findings.length * 2654435761 >>> 0).toString(16).padStart(8, '0') + 'c0ffee' };
      if (baseline) f.baseline = r() < 0.1 ? 'new' : 'unchanged';
      if (r() < 0.03) f.waiver = { reason: r() < 0.3 ? HOSTILE[0] : 'Public website bucket, reviewed by security', owner: 'web-team@example.com', expires: r() < 0.3 ? '2026-01-31' : '2027-06-30', expired: false };
      if (f.waiver && f.waiver.expires === '2026-01-31') f.waiver.expired = true;
      findings.push(f);
      acct.findings++;
      for (const sec of requires) {
        if (!ev[sec]) {
          const v = sectionValue(sec, name, r);
          ev[sec] = r() < 0.04 ? { state: 'denied', code: 'AccessDenied', message: 'Access Denied' } : v === null ? { state: 'absent' } : { state: 'present', value: v };
        }
      }
      ruleResults.find((x) => x.id === rid).fail++;
    }
    if (r() < 0.15) {
      const reason = pick([
        { section: 'bucket.policy', state: 'denied', code: 'AccessDenied', message: `User: arn:aws:sts::${acct.id}:assumed-role/OrganizationAccountAccessRole/s3audit is not authorized to perform: s3:GetBucketPolicy` },
        { section: 'bucket.encryption', state: 'error', code: 'Throttling', message: 'Rate exceeded' },
        { section: 'bucket.versioning', state: 'denied', code: 'AccessDenied', message: `Access Denied ${HOSTILE[0]}` }]);
      for (const def of RULE_DEFS) if (def[4].includes(reason.section)) {
        unknown.push({ rule_id: def[0], resource: { kind: 'bucket', account_id: acct.id, region, name, arn }, reasons: [reason] });
        acct.unknown++;
      }
    }
    if (baseline && r() < 0.1) fixed.push({ rule_id: 'bucket-versioning-disabled', severity: 'medium', resource: { kind: 'bucket', account_id: acct.id, region, name, arn }, fingerprint: 'f1xed' + buckets });
  }
  const failedAcct = accounts[accounts.length - 1];
  for (const def of RULE_DEFS.slice(0, 5)) {
    unknown.push({ rule_id: def[0], resource: { kind: 'account', account_id: failedAcct.id, name: failedAcct.id, arn: `arn:aws:iam::${failedAcct.id}:root` },
      reasons: [{ section: 'account', state: 'error', code: 'AccessDenied', message: 'the account could not be entered: ' + failedAcct.problems[0].replace(/^could not be entered: /, '') }] });
    failedAcct.unknown++;
  }
  findings.sort((a, b) => order[a.severity] - order[b.severity]);
  const bySev = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  let waived = 0;
  for (const f of findings) { if (f.waiver && !f.waiver.expired) waived++; else bySev[f.severity]++; }
  const fail = findings.length - waived;
  const fw = (id, name, reqs) => {
    const requirements = reqs.map(([rid, title]) => {
      const rs = RULE_DEFS.filter((d) => d[3].includes(`${id}:${rid}`)).map((d) => d[0]);
      const failing = rs.some((x) => ruleResults.find((y) => y.id === x).fail);
      return { id: rid, title, status: !rs.length ? 'manual' : failing ? 'fail' : 'pass', rules: rs };
    });
    const c = (s) => requirements.filter((q) => q.status === s).length;
    const decided = c('pass') + c('fail') + c('unknown');
    return { id, name, version: '1.0.0', passed: c('pass'), failed: c('fail'), unknown: c('unknown'), manual: c('manual'), not_applicable: 0, percent_passed: decided ? 100 * c('pass') / decided : 0, requirements };
  };
  const results = {
    schema_version: 1, tool: { name: 's3audit', version: '0.1.0' },
    snapshot: { started_at: '2026-11-26T06:00:00Z', duration_ms: 30000 + n * 3, partition: 'aws', organization_id: 'o-synthetic1', crawler_version: '0.1.0' },
    summary: { accounts: accounts.length, accounts_failed: 1, buckets, evaluations: buckets * RULE_DEFS.length, pass: buckets * RULE_DEFS.length - findings.length - unknown.length, fail, unknown: unknown.length, not_applicable: 0, waived, findings_by_severity: bySev },
    accounts, rules: ruleResults,
    frameworks: [
      fw('aws-fsbp', 'AWS Foundational Security Best Practices', [['S3.2', 'S3 general purpose buckets should block public read access'], ['S3.3', 'S3 general purpose buckets should block public write access'], ['S3.5', 'S3 general purpose buckets should require requests to use SSL'], ['S3.6', 'S3 general purpose bucket policies should restrict access to other AWS accounts'], ['S3.8', 'S3 general purpose buckets should block public access'], ['S3.9', 'S3 general purpose buckets should have server access logging enabled'], ['S3.12', 'ACLs should not be used to manage user access'], ['S3.13', 'S3 general purpose buckets should have Lifecycle configurations'], ['S3.14', 'S3 general purpose buckets should have versioning enabled'], ['S3.15', 'S3 general purpose buckets should have Object Lock enabled'], ['S3.17', 'S3 general purpose buckets should be encrypted at rest with AWS KMS keys'], ['S3.20', 'S3 general purpose buckets should have MFA delete enabled']]),
      fw('cis-aws-foundations-v3', 'CIS AWS Foundations Benchmark', [['2.1.1', 'Ensure S3 Bucket Policy is set to deny HTTP requests'], ['2.1.2', 'Ensure MFA Delete is enabled on S3 buckets'], ['2.1.3', 'Ensure all data in Amazon S3 has been discovered, classified and secured when required'], ['2.1.4', 'Ensure that S3 Buckets are configured with Block public access']]),
    ],
    findings, unknown, api_calls: { 's3:ListBuckets': accounts.length, 's3:GetBucketPolicy': buckets },
  };
  if (baseline) {
    results.baseline = { started_at: '2026-11-25T06:00:00Z', new: findings.filter((f) => f.baseline === 'new').length, unchanged: findings.filter((f) => f.baseline === 'unchanged').length, fixed: fixed.length };
    results.fixed = fixed;
  }
  if (history) {
    results.history = [];
    for (let d = 13; d >= 1; d--) {
      const scale = 1 + d * 0.04 + (r() - 0.5) * 0.05;
      const p = { started_at: new Date(Date.parse('2026-11-26T06:00:00Z') - d * 86400000).toISOString().replace('.000', ''), unknown: Math.round(unknown.length * (1 + (r() - 0.5) * 0.3)) };
      let total = 0;
      for (const s of Object.keys(bySev)) { p[s] = Math.round(bySev[s] * scale); total += p[s]; }
      p.fail = total;
      results.history.push(p);
    }
    results.history.push({ started_at: results.snapshot.started_at, fail, unknown: unknown.length, ...bySev });
  }
  return { results, rules, evidence };
}

// ---------- command line ----------
function main(argv) {
  const opts = { seed: 42, baseline: true, history: true };
  const pos = [];
  let n = null, saveData = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--synthetic') n = Number(argv[++i]);
    else if (a === '--seed') opts.seed = Number(argv[++i]);
    else if (a === '--no-baseline') opts.baseline = false;
    else if (a === '--no-history') opts.history = false;
    else if (a === '--save-data') saveData = argv[++i];
    else if (a === '-h' || a === '--help') { console.log('usage: node templates/preview.mjs (DATA.json | --synthetic N) OUT.html [--seed S] [--no-baseline] [--no-history] [--save-data FILE]'); return; }
    else pos.push(a);
  }
  let data;
  if (n !== null) data = synthetic(n, opts);
  else {
    if (pos.length < 2) { console.error('usage: node templates/preview.mjs DATA.json OUT.html'); process.exit(2); }
    data = JSON.parse(readFileSync(pos.shift(), 'utf8'));
    // A bare results file (s3audit.json) previews too, without rule docs or evidence.
    if (!data.results && data.schema_version !== undefined) data = { results: data, rules: {}, evidence: {} };
  }
  const out = pos[0];
  if (!out) { console.error('preview: missing OUT.html'); process.exit(2); }
  if (saveData) writeFileSync(saveData, JSON.stringify(data));
  const t = Date.now();
  const html = render(data);
  writeFileSync(out, html);
  console.log(`wrote ${out}: ${(html.length / 1024).toFixed(0)} KiB, ${((data.results || {}).findings || []).length} findings, rendered in ${Date.now() - t} ms`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main(process.argv.slice(2));
