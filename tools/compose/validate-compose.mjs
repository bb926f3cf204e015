#!/usr/bin/env node
// Validates a Compose file without a Docker engine.
//
//   node tools/compose/validate-compose.mjs [compose.yml ...] [--docker=auto|off|require]
//                                           [--env-file FILE] [--schema FILE]
//
// Default file: docker/compose.yml (relative to the repository root). For each file:
//   1. parses the YAML (merge keys `<<:` on, duplicate keys are errors) and interpolates
//      ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR:+alt}, $VAR, $$ from the
//      environment and the `.env` beside the compose file (as docker compose does);
//   2. validates the result against the vendored Compose Specification JSON schema
//      (tools/compose/compose-spec.json) with ajv;
//   3. checks references: services named in depends_on / extends / links / volumes_from /
//      network_mode exist (and a service that starts by default does not depend on one that
//      only exists in a profile; no depends_on cycles), service networks / volumes / secrets /
//      configs are declared at the top level;
//   4. checks paths: build contexts, build dockerfiles (relative to the context, as the Compose
//      spec says), build targets (a `FROM … AS <target>` stage), bind-mounted host paths,
//      env_file entries and `include` files exist; every build `args.APP` names an existing
//      `apps/<APP>` folder inside the build context; published host ports don't collide;
//   5. if a `docker compose` (v2) CLI is installed, runs `docker compose config --quiet`
//      (it only parses, no engine needed); `--docker=off` skips it, `--docker=require` fails
//      when it is missing.
// Exit 0 with a one-line summary per file; 1 with every problem listed; 2 on usage errors.
//
// Dependencies: `yaml` and `ajv`, loaded through require() so NODE_PATH works too.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, '..', '..');

// ---------------------------------------------------------------------------------------------
// command line

function usage(message) {
  if (message) console.error(`validate-compose: ${message}`);
  console.error(
    'usage: node tools/compose/validate-compose.mjs [compose.yml ...] [--docker=auto|off|require] [--env-file FILE] [--schema FILE]',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    files: [],
    docker: 'auto',
    envFile: null,
    schema: path.join(HERE, 'compose-spec.json'),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const take = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '-h' || a === '--help') usage();
    else if (a === '--no-docker') opts.docker = 'off';
    else if (a === '--docker') opts.docker = take();
    else if (a.startsWith('--docker=')) opts.docker = a.slice('--docker='.length);
    else if (a === '--env-file') opts.envFile = take();
    else if (a.startsWith('--env-file=')) opts.envFile = a.slice('--env-file='.length);
    else if (a === '--schema') opts.schema = take();
    else if (a.startsWith('--schema=')) opts.schema = a.slice('--schema='.length);
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else opts.files.push(a);
  }
  if (!['auto', 'off', 'require'].includes(opts.docker)) usage(`--docker must be auto, off or require`);
  if (opts.files.length === 0) opts.files.push(path.join(REPO_ROOT, 'docker', 'compose.yml'));
  return opts;
}

function loadDependency(name) {
  try {
    return require(name);
  } catch (err) {
    console.error(
      `validate-compose: cannot load the "${name}" package (${err.code || err.message}). ` +
        'Run `npm install` at the repository root, or install it elsewhere and point NODE_PATH at that node_modules.',
    );
    process.exit(2);
  }
}

const rel = (p) => {
  const r = path.relative(process.cwd(), p);
  return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : p;
};
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const exists = (p) => fs.existsSync(p);
const isDir = (p) => exists(p) && fs.statSync(p).isDirectory();

// ---------------------------------------------------------------------------------------------
// environment and interpolation (Compose "interpolation" rules)

function parseDotEnv(file) {
  const env = {};
  for (const line of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)?\s*$/.exec(line);
    if (!m || line.trim().startsWith('#')) continue;
    let v = m[2] ?? '';
    if (/^"(.*)"$/s.test(v)) v = v.slice(1, -1).replace(/\\n/g, '\n').replace(/\\"/g, '"');
    else if (/^'(.*)'$/s.test(v)) v = v.slice(1, -1);
    else v = v.replace(/\s+#.*$/, '');
    env[m[1]] = v;
  }
  return env;
}

/** Interpolates one string. Reports into `issues` ({errors, warnings}); `where` is a dotted path. */
function interpolateString(str, env, where, issues) {
  let out = '';
  let i = 0;
  while (i < str.length) {
    const c = str[i];
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = str[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      // find the matching brace (defaults may nest ${...})
      let depth = 1;
      let j = i + 2;
      while (j < str.length && depth > 0) {
        if (str[j] === '$' && str[j + 1] === '{') {
          depth++;
          j += 2;
          continue;
        }
        if (str[j] === '}') depth--;
        j++;
      }
      if (depth !== 0) {
        issues.errors.push(`${where}: unterminated "\${" in ${JSON.stringify(str)}`);
        return str;
      }
      const body = str.slice(i + 2, j - 1);
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(body);
      if (!m) {
        issues.errors.push(`${where}: invalid interpolation "\${${body}}"`);
        return str;
      }
      const [, name, op, arg = ''] = m;
      const val = env[name];
      const set = val !== undefined;
      const nonEmpty = set && val !== '';
      const sub = () => interpolateString(arg, env, where, issues);
      if (!op) {
        if (!set) issues.warnings.push(`${where}: variable ${name} is not set, defaulting to a blank string`);
        out += set ? val : '';
      } else if (op === ':-') out += nonEmpty ? val : sub();
      else if (op === '-') out += set ? val : sub();
      else if (op === ':+') out += nonEmpty ? sub() : '';
      else if (op === '+') out += set ? sub() : '';
      else if (op === ':?' || op === '?') {
        if (op === ':?' ? !nonEmpty : !set) {
          issues.errors.push(`${where}: required variable ${name} is missing a value${arg ? `: ${sub()}` : ''}`);
        }
        out += val ?? '';
      }
      i = j;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(str.slice(i + 1));
    if (m) {
      const name = m[0];
      if (env[name] === undefined)
        issues.warnings.push(`${where}: variable ${name} is not set, defaulting to a blank string`);
      out += env[name] ?? '';
      i += 1 + name.length;
      continue;
    }
    out += c; // a lone "$"
    i++;
  }
  return out;
}

function interpolate(value, env, where, issues) {
  if (typeof value === 'string') return interpolateString(value, env, where, issues);
  if (Array.isArray(value)) return value.map((v, k) => interpolate(v, env, `${where}[${k}]`, issues));
  if (isObject(value)) {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, env, where ? `${where}.${k}` : k, issues);
    return out;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// YAML

function loadYaml(YAML, file) {
  const src = fs.readFileSync(file, 'utf8');
  const doc = YAML.parseDocument(src, {
    merge: true,
    uniqueKeys: true,
    prettyErrors: true,
  });
  const first = (e) => `yaml: ${e.message.split('\n')[0].replace(/:\s*$/, '')}`;
  const errors = doc.errors.map(first);
  const warnings = doc.warnings.map(first);
  let data;
  if (errors.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      errors.push(`yaml: ${err.message}`);
    }
  }
  if (errors.length === 0 && !isObject(data)) errors.push('yaml: the top level must be a mapping');
  return { data, errors, warnings };
}

// ---------------------------------------------------------------------------------------------
// JSON schema

function makeSchemaValidator(schemaFile) {
  const schema = JSON.parse(fs.readFileSync(schemaFile, 'utf8'));
  const declared = String(schema.$schema || '');
  let AjvClass;
  let metaId;
  if (/2020-12/.test(declared)) {
    AjvClass = loadDependency('ajv/dist/2020');
    metaId = 'https://json-schema.org/draft/2020-12/schema';
  } else if (/2019-09/.test(declared)) {
    AjvClass = loadDependency('ajv/dist/2019');
    metaId = 'https://json-schema.org/draft/2019-09/schema';
  } else {
    AjvClass = loadDependency('ajv');
    metaId = 'http://json-schema.org/draft-07/schema#';
  }
  AjvClass = AjvClass.default || AjvClass;
  // The spec writes "https://json-schema.org/draft-07/schema" (no "#"), which is not the id ajv
  // registers the draft-07 meta-schema under: point it at the canonical id; the text is unchanged.
  const compiled = { ...schema, $schema: metaId };
  const ajv = new AjvClass({
    allErrors: true,
    strict: false,
    allowUnionTypes: true,
  });
  // Compose-specific formats (older schemas use duration/ports/expose/...): accept, except
  // "duration", which Compose parses as a Go duration ("10s", "1m30s").
  const formats = new Set();
  (function walk(node) {
    if (Array.isArray(node)) node.forEach(walk);
    else if (isObject(node)) {
      if (typeof node.format === 'string') formats.add(node.format);
      Object.values(node).forEach(walk);
    }
  })(schema);
  for (const f of formats) {
    ajv.addFormat(f, f === 'duration' ? /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$|^0$/ : true);
  }
  const validate = ajv.compile(compiled);
  return { validate, title: schema.title || 'schema' };
}

const pointerToPath = (p) =>
  p
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`))
    .join('')
    .replace(/^\./, '') || '(top level)';

function formatSchemaErrors(errors) {
  // ajv lists every failed branch of oneOf/anyOf. Keep the most specific messages: drop the
  // oneOf/anyOf umbrellas, and drop a "type" error where another error was found at the same
  // or a deeper place (another branch matched the type and failed further in).
  const errs = errors.filter((e) => !['oneOf', 'anyOf', 'if', 'not'].includes(e.keyword));
  const deeper = (o, e) => o.instancePath.startsWith(`${e.instancePath}/`);
  const kept = errs.filter(
    (e) =>
      e.keyword !== 'type' ||
      !errs.some((o) => o !== e && (deeper(o, e) || (o.instancePath === e.instancePath && o.keyword !== 'type'))),
  );
  const list = kept.length ? kept : errors;
  // type errors left at one place come from alternatives that all failed: merge them
  const typesAt = new Map();
  for (const e of list) {
    if (e.keyword !== 'type') continue;
    const t = typesAt.get(e.instancePath) || new Set();
    for (const x of [].concat(e.params.type)) t.add(x === 'object' ? 'mapping' : x);
    typesAt.set(e.instancePath, t);
  }
  const lines = list.map((e) => {
    const at = pointerToPath(e.instancePath);
    switch (e.keyword) {
      case 'additionalProperties':
        return `${at}: additional property "${e.params.additionalProperty}" is not allowed`;
      case 'required':
        return `${at}: missing required property "${e.params.missingProperty}"`;
      case 'enum':
        return `${at}: must be one of ${e.params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
      case 'type':
        return `${at}: must be of type ${[...typesAt.get(e.instancePath)].join(' or ')}`;
      case 'propertyNames':
        return `${at}: invalid property name "${e.params.propertyName}"`;
      default:
        return `${at}: ${e.message}`;
    }
  });
  return [...new Set(lines)];
}

// ---------------------------------------------------------------------------------------------
// Dockerfile helpers

function dockerfileInfo(file) {
  const text = fs.readFileSync(file, 'utf8').replace(/\\\r?\n/g, ' ');
  const stages = new Set();
  const args = new Set();
  for (const line of text.split(/\r?\n/)) {
    const from = /^\s*FROM\s+(?:--\S+\s+)*\S+(?:\s+AS\s+(\S+))?\s*$/i.exec(line);
    if (from && from[1]) stages.add(from[1].toLowerCase());
    const arg = /^\s*ARG\s+(.+)$/i.exec(line);
    if (arg) for (const a of arg[1].trim().split(/\s+/)) args.add(a.split('=')[0]);
  }
  return { stages, args };
}

// ---------------------------------------------------------------------------------------------
// reference and path checks

const listOrKeys = (v) => (Array.isArray(v) ? v.map(String) : isObject(v) ? Object.keys(v) : []);

function buildArgs(build) {
  const out = {};
  const args = build.args;
  if (Array.isArray(args)) {
    for (const a of args) {
      const [k, ...rest] = String(a).split('=');
      out[k] = rest.length ? rest.join('=') : process.env[k];
    }
  } else if (isObject(args)) Object.assign(out, args);
  return out;
}

function parseShortVolume(spec) {
  // [SOURCE:]TARGET[:MODE]; a Windows drive letter "C:\..." is not split
  const parts = [];
  let cur = '';
  for (let i = 0; i < spec.length; i++) {
    const ch = spec[i];
    if (ch === ':' && !(cur.length === 1 && /[A-Za-z]/.test(cur) && /[\\/]/.test(spec[i + 1] || ''))) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  if (parts.length === 1) return { type: 'volume', source: null, target: parts[0] };
  const source = parts[0];
  const bind = /^[./~]/.test(source) || /^[A-Za-z]:[\\/]/.test(source) || source.includes('/');
  return { type: bind ? 'bind' : 'volume', source, target: parts[1] };
}

function parsePorts(ports) {
  const out = [];
  for (const p of ports || []) {
    if (isObject(p)) {
      if (p.published !== undefined && p.published !== '') {
        out.push({
          host: String(p.published),
          ip: p.host_ip || '',
          proto: p.protocol || 'tcp',
        });
      }
      continue;
    }
    const s = String(p);
    const [spec, proto = 'tcp'] = s.split('/');
    const parts = spec.startsWith('[') ? spec.replace(/^\[[^\]]*\]:?/, '').split(':') : spec.split(':');
    if (parts.length < 2) continue; // container port only: a random host port
    const host = parts[parts.length - 2];
    const ip = parts.length > 2 ? parts.slice(0, parts.length - 2).join(':') : '';
    if (host) out.push({ host, ip, proto });
  }
  return out;
}

function expandPortRange(host) {
  const m = /^(\d+)(?:-(\d+))?$/.exec(host);
  if (!m) return [];
  const a = Number(m[1]);
  const b = m[2] ? Number(m[2]) : a;
  const r = [];
  for (let x = a; x <= b && r.length < 10000; x++) r.push(x);
  return r;
}

function checkModel(model, { baseDir, YAML, errors, warnings }) {
  const services = isObject(model.services) ? model.services : {};
  const names = new Set(Object.keys(services));
  const top = (k) => new Set(isObject(model[k]) ? Object.keys(model[k]) : []);
  const networks = top('networks');
  const volumes = top('volumes');
  const secrets = top('secrets');
  const configs = top('configs');
  const profilesOf = (n) => (Array.isArray(services[n]?.profiles) ? services[n].profiles : []);
  const resolve = (p) => path.resolve(baseDir, String(p).replace(/^~(?=$|\/)/, process.env.HOME || '~'));

  for (const [name, svc] of Object.entries(services)) {
    if (!isObject(svc)) continue;
    const at = `services.${name}`;

    // depends_on
    const deps = Array.isArray(svc.depends_on)
      ? svc.depends_on.map((d) => [String(d), {}])
      : isObject(svc.depends_on)
        ? Object.entries(svc.depends_on).map(([d, v]) => [d, isObject(v) ? v : {}])
        : [];
    for (const [dep, opts] of deps) {
      if (dep === name) errors.push(`${at}.depends_on: "${dep}" depends on itself`);
      else if (!names.has(dep)) errors.push(`${at}.depends_on: service "${dep}" is not defined`);
      else {
        const depProfiles = profilesOf(dep);
        const myProfiles = profilesOf(name);
        if (depProfiles.length && opts.required !== false) {
          const reachable = myProfiles.length && myProfiles.every((p) => depProfiles.includes(p));
          if (!reachable) {
            errors.push(
              `${at}.depends_on: "${dep}" only exists in profile(s) ${depProfiles.join(', ')}; ` +
                `"${name}" ${myProfiles.length ? `(profiles ${myProfiles.join(', ')})` : 'starts by default and'} cannot start without it`,
            );
          }
        }
        if (opts.condition === 'service_healthy' && !isObject(services[dep].healthcheck)) {
          warnings.push(
            `${at}.depends_on: "${dep}" must become healthy but has no healthcheck here (fine only if its image defines HEALTHCHECK)`,
          );
        }
        if (opts.condition === 'service_healthy' && services[dep].healthcheck?.disable === true) {
          errors.push(`${at}.depends_on: "${dep}" must become healthy but its healthcheck is disabled`);
        }
      }
    }

    // extends
    if (svc.extends !== undefined) {
      const ext = typeof svc.extends === 'string' ? { service: svc.extends } : svc.extends;
      if (isObject(ext) && ext.service) {
        if (ext.file) {
          const f = resolve(ext.file);
          if (!exists(f)) errors.push(`${at}.extends.file: ${rel(f)} does not exist`);
          else {
            const { data, errors: e } = loadYaml(YAML, f);
            if (e.length) errors.push(`${at}.extends.file: ${rel(f)}: ${e[0]}`);
            else if (!isObject(data.services) || !(ext.service in data.services)) {
              errors.push(`${at}.extends: service "${ext.service}" is not defined in ${rel(f)}`);
            }
          }
        } else if (!names.has(ext.service)) {
          errors.push(`${at}.extends: service "${ext.service}" is not defined`);
        } else if (ext.service === name) errors.push(`${at}.extends: "${name}" extends itself`);
      }
    }

    // links, volumes_from, network_mode
    for (const link of Array.isArray(svc.links) ? svc.links : []) {
      const target = String(link).split(':')[0];
      if (!names.has(target)) errors.push(`${at}.links: service "${target}" is not defined`);
    }
    for (const vf of Array.isArray(svc.volumes_from) ? svc.volumes_from : []) {
      const parts = String(vf).split(':');
      if (parts[0] === 'container') continue;
      const target = parts[0] === 'service' ? parts[1] : parts[0];
      if (!names.has(target)) errors.push(`${at}.volumes_from: service "${target}" is not defined`);
    }
    if (typeof svc.network_mode === 'string' && svc.network_mode.startsWith('service:')) {
      const target = svc.network_mode.slice('service:'.length);
      if (!names.has(target)) errors.push(`${at}.network_mode: service "${target}" is not defined`);
    }
    if (svc.network_mode !== undefined && svc.networks !== undefined) {
      errors.push(`${at}: network_mode and networks cannot be combined`);
    }

    // networks, secrets, configs
    for (const n of listOrKeys(svc.networks)) {
      if (n !== 'default' && !networks.has(n))
        errors.push(`${at}.networks: network "${n}" is not declared under top-level networks`);
    }
    for (const [kind, declared] of [
      ['secrets', secrets],
      ['configs', configs],
    ]) {
      for (const s of Array.isArray(svc[kind]) ? svc[kind] : []) {
        const src = isObject(s) ? s.source : s;
        if (src !== undefined && !declared.has(String(src))) {
          errors.push(`${at}.${kind}: "${src}" is not declared under top-level ${kind}`);
        }
      }
    }

    // volumes (named volumes declared, bind sources exist)
    for (const v of Array.isArray(svc.volumes) ? svc.volumes : []) {
      const m = isObject(v)
        ? { type: v.type, source: v.source ?? null, target: v.target }
        : parseShortVolume(String(v));
      if (m.type === 'volume' && m.source) {
        if (!volumes.has(m.source))
          errors.push(`${at}.volumes: volume "${m.source}" is not declared under top-level volumes`);
      } else if (m.type === 'bind' && m.source) {
        const p = resolve(m.source);
        if (!exists(p)) {
          if (path.isAbsolute(String(m.source)) || String(m.source).startsWith('~')) {
            warnings.push(`${at}.volumes: bind source ${m.source} does not exist on this machine`);
          } else errors.push(`${at}.volumes: bind source ${m.source} (${rel(p)}) does not exist`);
        }
      }
    }

    // env_file
    const envFiles = svc.env_file === undefined ? [] : [].concat(svc.env_file);
    for (const ef of envFiles) {
      const p = isObject(ef) ? ef.path : ef;
      const required = isObject(ef) ? ef.required !== false : true;
      if (typeof p !== 'string') continue;
      if (!exists(resolve(p)) && required) errors.push(`${at}.env_file: ${p} (${rel(resolve(p))}) does not exist`);
    }

    // build
    if (svc.build !== undefined) {
      const build = typeof svc.build === 'string' ? { context: svc.build } : isObject(svc.build) ? svc.build : {};
      const context = String(build.context ?? '.');
      const remote =
        /^[a-z][a-z0-9+.-]*:\/\//i.test(context) || /^git@/.test(context) || /^github\.com\//.test(context);
      if (!remote) {
        const ctxDir = resolve(context);
        if (!isDir(ctxDir)) errors.push(`${at}.build.context: ${context} (${rel(ctxDir)}) is not a directory`);
        else {
          let info = null;
          if (build.dockerfile_inline === undefined) {
            const df = path.resolve(ctxDir, String(build.dockerfile ?? 'Dockerfile'));
            if (!exists(df)) {
              errors.push(
                `${at}.build.dockerfile: ${build.dockerfile ?? 'Dockerfile'} (${rel(df)}, relative to the build context) does not exist`,
              );
            } else info = dockerfileInfo(df);
          }
          if (info && build.target !== undefined && !info.stages.has(String(build.target).toLowerCase())) {
            errors.push(
              `${at}.build.target: "${build.target}" is not a stage of ${build.dockerfile ?? 'Dockerfile'} (stages: ${[...info.stages].join(', ') || 'none named'})`,
            );
          }
          const args = buildArgs(build);
          if (info) {
            for (const k of Object.keys(args)) {
              if (!info.args.has(k)) warnings.push(`${at}.build.args: ${k} is not declared with ARG in the Dockerfile`);
            }
          }
          if ('APP' in args) {
            const app = args.APP === undefined || args.APP === null ? '' : String(args.APP);
            const appDir = path.resolve(ctxDir, 'apps', app);
            if (!app || app.includes('/') || app.includes('\\') || !isDir(appDir)) {
              errors.push(`${at}.build.args.APP: "${app}" does not name an existing folder ${rel(appDir)}`);
            }
          }
        }
      }
    }
  }

  // depends_on cycles
  const graph = new Map(
    Object.entries(services).map(([n, s]) => [
      n,
      listOrKeys(isObject(s) ? s.depends_on : undefined).filter((d) => names.has(d) && d !== n),
    ]),
  );
  const state = new Map();
  const reported = new Set();
  const visit = (n, stack) => {
    state.set(n, 'open');
    for (const d of graph.get(n) || []) {
      if (state.get(d) === 'open') {
        const cycle = [...stack.slice(stack.indexOf(d)), d].join(' -> ');
        const key = [...new Set(cycle.split(' -> '))].sort().join(',');
        if (!reported.has(key)) {
          reported.add(key);
          errors.push(`depends_on: cycle ${cycle}`);
        }
      } else if (!state.has(d)) visit(d, [...stack, d]);
    }
    state.set(n, 'done');
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n, [n]);

  // host ports and container names used twice by services that can run together
  const together = (a, b) => {
    const pa = profilesOf(a);
    const pb = profilesOf(b);
    return !pa.length || !pb.length || pa.some((p) => pb.includes(p));
  };
  const bound = [];
  for (const [name, svc] of Object.entries(services)) {
    if (!isObject(svc)) continue;
    for (const p of parsePorts(svc.ports)) {
      for (const port of expandPortRange(p.host)) {
        const clash = bound.find(
          (b) =>
            b.port === port &&
            b.proto === p.proto &&
            (b.ip === p.ip || !b.ip || !p.ip) &&
            b.service !== name &&
            together(b.service, name),
        );
        if (clash)
          errors.push(`services.${name}.ports: host port ${port}/${p.proto} is also published by "${clash.service}"`);
        bound.push({ port, proto: p.proto, ip: p.ip, service: name });
      }
    }
  }
  const containerNames = new Map();
  for (const [name, svc] of Object.entries(services)) {
    const cn = isObject(svc) ? svc.container_name : undefined;
    if (cn === undefined) continue;
    if (containerNames.has(cn))
      errors.push(`services.${name}.container_name: "${cn}" is also used by "${containerNames.get(cn)}"`);
    else containerNames.set(cn, name);
  }

  // top-level include / secrets / configs files
  for (const inc of Array.isArray(model.include) ? model.include : []) {
    const paths = isObject(inc) ? [].concat(inc.path ?? []) : [inc];
    for (const p of paths) if (!exists(resolve(p))) errors.push(`include: ${p} (${rel(resolve(p))}) does not exist`);
  }
  for (const kind of ['secrets', 'configs']) {
    for (const [n, def] of Object.entries(isObject(model[kind]) ? model[kind] : {})) {
      if (isObject(def) && typeof def.file === 'string' && !exists(resolve(def.file))) {
        errors.push(`${kind}.${n}.file: ${def.file} (${rel(resolve(def.file))}) does not exist`);
      }
    }
  }

  return { services: names, volumes, networks };
}

// ---------------------------------------------------------------------------------------------
// optional: docker compose config --quiet

function findComposeCli() {
  const tries = [
    ['docker', ['compose']],
    ['docker-compose', []],
  ];
  for (const [cmd, pre] of tries) {
    const r = spawnSync(cmd, [...pre, 'version', '--short'], {
      encoding: 'utf8',
    });
    if (r.status === 0) {
      const version = (r.stdout || '').trim().replace(/^v/, '');
      if (/^1\./.test(version)) continue; // docker-compose v1 (Python) has an older schema
      return { cmd, pre, version };
    }
  }
  return null;
}

function runComposeConfig(file, mode, envFile) {
  if (mode === 'off') return { status: 'skipped (--docker=off)' };
  const cli = findComposeCli();
  if (!cli) {
    return mode === 'require'
      ? {
          status: 'missing',
          error: 'docker compose: no `docker compose` (v2) CLI found, and --docker=require was given',
        }
      : { status: 'skipped (no docker compose CLI)' };
  }
  const args = [...cli.pre, '-f', file];
  if (envFile) args.push('--env-file', envFile);
  args.push('--profile', '*', 'config', '--quiet');
  const r = spawnSync(cli.cmd, args, { encoding: 'utf8' });
  const label = `${cli.cmd}${cli.pre.length ? ` ${cli.pre.join(' ')}` : ''} ${cli.version}`;
  if (r.status === 0) return { status: `ok (${label})` };
  const text = `${r.stderr || ''}${r.stdout || ''}${r.error ? r.error.message : ''}`.trim();
  return {
    status: 'failed',
    error: `docker compose config (${label}): ${text || `exit ${r.status}`}`,
  };
}

// ---------------------------------------------------------------------------------------------

function validateFile(file, opts, schemaValidator, YAML) {
  const errors = [];
  const warnings = [];
  const abs = path.resolve(file);
  if (!exists(abs)) return { errors: [`${rel(abs)} does not exist`], warnings, summary: null };
  const baseDir = path.dirname(abs);

  const env = {};
  const envFile = opts.envFile ? path.resolve(opts.envFile) : path.join(baseDir, '.env');
  if (opts.envFile && !exists(envFile)) errors.push(`--env-file ${opts.envFile} does not exist`);
  if (exists(envFile)) Object.assign(env, parseDotEnv(envFile));
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;

  const loaded = loadYaml(YAML, abs);
  warnings.push(...loaded.warnings);
  if (loaded.errors.length) return { errors: [...errors, ...loaded.errors], warnings, summary: null };

  const issues = { errors: [], warnings: [] };
  const model = interpolate(loaded.data, env, '', issues);
  errors.push(...issues.errors);
  warnings.push(...[...new Set(issues.warnings)]);

  if (!schemaValidator.validate(model)) {
    errors.push(...formatSchemaErrors(schemaValidator.validate.errors || []).map((m) => `schema: ${m}`));
  }

  const info = checkModel(model, { baseDir, YAML, errors, warnings });

  const docker = runComposeConfig(abs, opts.docker, opts.envFile ? envFile : null);
  if (docker.error) errors.push(docker.error);

  const svcList = [...info.services]
    .map((n) => {
      const p = model.services[n]?.profiles;
      return Array.isArray(p) && p.length ? `${n}[${p.join(',')}]` : n;
    })
    .join(', ');
  const summary =
    `compose OK: ${rel(abs)}: ${info.services.size} services (${svcList}), ${info.volumes.size} volumes, ` +
    `${info.networks.size} networks; ${schemaValidator.title} schema valid; references, paths and build args checked; ` +
    `docker compose config: ${docker.status}`;
  return { errors, warnings, summary };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const YAML = loadDependency('yaml');
  if (!exists(opts.schema)) usage(`schema ${opts.schema} does not exist`);
  let schemaValidator;
  try {
    schemaValidator = makeSchemaValidator(opts.schema);
  } catch (err) {
    console.error(`validate-compose: cannot compile ${rel(opts.schema)}: ${err.message}`);
    process.exit(2);
  }

  let failed = false;
  for (const file of opts.files) {
    const { errors, warnings, summary } = validateFile(file, opts, schemaValidator, YAML);
    for (const w of warnings) console.error(`warning: ${rel(path.resolve(file))}: ${w}`);
    if (errors.length) {
      failed = true;
      console.error(`compose INVALID: ${rel(path.resolve(file))}: ${errors.length} problem(s)`);
      for (const e of errors) console.error(`  - ${e}`);
    } else {
      console.log(summary);
    }
  }
  process.exit(failed ? 1 : 0);
}

main();
