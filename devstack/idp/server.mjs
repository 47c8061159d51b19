// The local stack's two OAuth servers, one Node process, two ports, both panva's oidc-provider
// (OpenID-certified) rather than code of our own:
//
//   entra (9001)   plays Microsoft Entra ID for the ALB's sign-in: an issuer shaped like Entra v2
//                  (http://127.0.0.1:9001/<tenant>/v2.0) and the claims the containers read.
//   external (9002) plays the external service's (GitHub-like) authorization server: plain
//                  OAuth 2.0 with a consent screen, short-lived opaque access tokens that the
//                  external API checks by introspection, and refresh tokens.
//
// Usage: node devstack/idp/server.mjs --config devstack/config.json   (or DEVSTACK_CONFIG=...)
//
// Everything listens on 127.0.0.1 only. Users, passwords, clients and ports come from the
// config file; nothing here is meant for anything but a laptop.

import { randomBytes, generateKeyPairSync, timingSafeEqual, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const MAX_FORM_BYTES = 16 * 1024;
const MAX_ADMIN_BYTES = 16 * 1024;

function fail(message) {
  console.error(`idp: ${message}`);
  process.exit(2);
}

function required(obj, path) {
  let value = obj;
  for (const key of path.split('.')) {
    value = value?.[key];
  }
  if (value === undefined || value === null || value === '') {
    fail(`missing setting ${path} in the config file`);
  }
  return value;
}

function loadConfig() {
  const { values } = parseArgs({ options: { config: { type: 'string' } } });
  const file = values.config || process.env.DEVSTACK_CONFIG;
  if (!file) fail('no config file: pass --config <file> or set DEVSTACK_CONFIG');
  let config;
  try {
    config = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    fail(`cannot read config file ${file}: ${err.message}`);
  }
  for (const path of [
    'users', 'idp.port', 'idp.tenant_id', 'idp.clients',
    'external_as.port', 'external_as.scopes', 'external_as.resource',
    'external_as.access_token_ttl_seconds', 'external_as.clients', 'external_as.admin_token',
  ]) {
    required(config, path);
  }
  for (const [username, user] of Object.entries(config.users)) {
    for (const key of ['password', 'name', 'email', 'entra.sub', 'entra.oid']) {
      required(config, `users.${username}.${key}`);
    }
    if (typeof user.password !== 'string' || user.password.length < 8) {
      fail(`users.${username}.password must be a string of at least 8 characters`);
    }
  }
  return config;
}

// Constant-time comparison of two strings of any length: hash both first so that the lengths
// of the secrets don't leak through timingSafeEqual's length check.
function secretEquals(a, b) {
  const ha = createHash('sha256').update(String(a)).digest();
  const hb = createHash('sha256').update(String(b)).digest();
  return timingSafeEqual(ha, hb);
}

function checkPassword(users, username, password) {
  const user = Object.hasOwn(users, username) ? users[username] : undefined;
  // Compare against something even for an unknown user so both paths cost the same.
  const ok = secretEquals(password, user ? user.password : randomBytes(16).toString('hex'));
  return user && ok ? user : undefined;
}

function signingKeys() {
  // A fresh RSA key per start: tokens don't outlive the process, and no key sits in the repo.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' }] };
}

function html(strings, ...values) {
  const escape = (v) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return strings.reduce((out, s, i) => out + s + (i < values.length ? escape(values[i]) : ''), '');
}

function documentHtml(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>`
    + '<style>body{font-family:sans-serif;max-width:28rem;margin:3rem auto}'
    + 'label,input,button{display:block;margin:.4rem 0}button{padding:.4rem 1rem}</style>'
    + `</head><body>${body}</body></html>`;
}

function page(res, status, title, body) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    // No form-action: browsers apply it to the redirects after a submit, and ours end at
    // another origin (the ALB's or AgentCore's callback).
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    'referrer-policy': 'no-referrer',
  });
  res.end(documentHtml(title, body));
}

function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(Object.assign(new Error('request body too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// Clients live in the provider's adapter rather than in its static client list so that a
// redirect URI can be added while running (the AgentCore emulator's callback URL is only known
// once its credential provider exists). oidc-provider re-reads and re-validates adapter clients
// whenever their metadata changes.
class ClientRegistry {
  constructor(provider, clients) {
    this.provider = provider;
    this.metadata = new Map();
    for (const client of clients) {
      this.metadata.set(client.client_id, structuredClone(client));
    }
  }

  async publishAll() {
    for (const clientId of this.metadata.keys()) {
      await this.publish(clientId);
    }
  }

  async publish(clientId) {
    const metadata = this.metadata.get(clientId);
    // A client that signs users in but has no redirect URI yet could never finish a flow; it
    // appears once it has one. A client without response types (the resource server) needs none.
    const signsUsersIn = metadata.response_types === undefined || metadata.response_types.length > 0;
    if (signsUsersIn && !metadata.redirect_uris?.length) return;
    await this.provider.Client.validate(metadata);
    await this.provider.Client.adapter.upsert(clientId, metadata);
  }

  // No lock needed: validation finishes within the same turn of the event loop (no I/O for these
  // clients), so two requests cannot interleave between the read and the write.
  async addRedirectUri(clientId, redirectUri) {
    const current = this.metadata.get(clientId);
    if (!current) return { status: 404, body: { error: 'unknown_client' } };
    if (current.redirect_uris?.includes(redirectUri)) {
      return { status: 200, body: { client_id: clientId, redirect_uris: current.redirect_uris } };
    }
    const candidate = { ...current, redirect_uris: [...(current.redirect_uris || []), redirectUri] };
    try {
      await this.provider.Client.validate(candidate);
    } catch (err) {
      // Bad input changes nothing: the stored metadata is only replaced after validation.
      return { status: 400, body: { error: 'invalid_redirect_uri', error_description: err.error_description || err.message } };
    }
    this.metadata.set(clientId, candidate);
    await this.publish(clientId);
    return { status: 201, body: { client_id: clientId, redirect_uris: candidate.redirect_uris } };
  }
}

function baseConfiguration({ mountPath, cookiePrefix, scopes, claims, findAccount, ttl, extra }) {
  return {
    // Cookies ignore ports, so the two providers and the ALB emulator on 127.0.0.1 would
    // overwrite each other's cookies under the library's default names.
    cookies: {
      names: {
        session: `${cookiePrefix}_session`,
        interaction: `${cookiePrefix}_interaction`,
        resume: `${cookiePrefix}_interaction_resume`,
      },
      keys: [randomBytes(32).toString('base64url')],
    },
    jwks: signingKeys(),
    scopes,
    claims,
    findAccount,
    // Code flow only, as both real services are used here; no implicit or hybrid flows.
    responseTypes: ['code'],
    ttl,
    features: {
      devInteractions: { enabled: false },
      // The library's own sign-out pages load a web font from the internet; these don't.
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.type = 'html';
          ctx.body = documentHtml('Sign out', '<h1>Sign out?</h1>'
            + form
            + '<button autofocus type="submit" form="op.logoutForm" name="logout" value="yes" id="sign-out">Yes, sign me out</button>'
            + '<button type="submit" form="op.logoutForm" id="stay">No, stay signed in</button>');
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.type = 'html';
          ctx.body = documentHtml('Signed out', '<h1>You are signed out</h1>');
        },
      },
      ...extra.features,
    },
    interactions: {
      url: (ctx, interaction) => `${mountPath}/interaction/${interaction.uid}`,
    },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><meta charset="utf-8"><title>Error</title><h1>Sign-in error</h1><p>${
        String(out.error).replace(/[&<>"']/g, '')}</p>`;
    },
    ...extra.top,
  };
}

function entraProvider(config) {
  const { idp, users } = config;
  const host = idp.host || '127.0.0.1';
  const mountPath = `/${idp.tenant_id}/v2.0`;
  const issuer = `http://${host}:${idp.port}${mountPath}`;
  const bySub = new Map(Object.values(users).map((u) => [u.entra.sub, u]));

  const configuration = baseConfiguration({
    mountPath,
    cookiePrefix: idp.cookie_prefix || 'entra',
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    // Entra v2 puts oid and tid in its tokens; our userinfo carries them too so that the ALB
    // header holds everything the containers might read.
    claims: {
      openid: ['sub', 'oid', 'tid'],
      profile: ['name', 'preferred_username'],
      email: ['email'],
    },
    async findAccount(ctx, sub) {
      const user = bySub.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            oid: user.entra.oid,
            tid: idp.tenant_id,
            name: user.name,
            preferred_username: user.email,
            email: user.email,
          };
        },
      };
    },
    ttl: { AccessToken: 3600, AuthorizationCode: 300, IdToken: 3600, Session: 86400, Interaction: 600, Grant: 86400 },
    extra: {
      features: {},
      top: {
        // Entra's v2 endpoints live under /<tenant>/oauth2/v2.0/ and /<tenant>/discovery/;
        // oidc-provider mounts every route under the issuer's path, so ours sit one level
        // deeper (/<tenant>/v2.0/oauth2/...). The ALB takes each endpoint from its config, so
        // only the issuer has to match Entra's shape, and it does.
        routes: {
          authorization: '/oauth2/authorize',
          token: '/oauth2/token',
          userinfo: '/oidc/userinfo',
          jwks: '/discovery/keys',
          end_session: '/oauth2/logout',
          introspection: '/oauth2/introspect',
          revocation: '/oauth2/revoke',
        },
      },
    },
  });
  const provider = new Provider(issuer, configuration);
  return {
    label: 'entra', provider, mountPath, issuer, host, port: idp.port,
    clients: new ClientRegistry(provider, idp.clients),
    usersByName: users,
    accountIdFor: (user) => user.entra.sub,
    // The ALB's client plays an enterprise application an administrator has consented to:
    // Entra shows users no consent screen for it, so neither do we.
    autoConsent: true,
  };
}

function externalProvider(config) {
  const { external_as: as, users } = config;
  const host = as.host || '127.0.0.1';
  const issuer = `http://${host}:${as.port}`;
  const resource = as.resource;
  const scopes = as.scopes;

  const configuration = baseConfiguration({
    mountPath: '',
    cookiePrefix: as.cookie_prefix || 'extas',
    scopes: ['openid', 'offline_access', ...scopes],
    claims: { openid: ['sub'] },
    async findAccount(ctx, sub) {
      if (!Object.hasOwn(users, sub)) return undefined;
      return { accountId: sub, async claims() { return { sub }; } };
    },
    ttl: {
      AccessToken: as.access_token_ttl_seconds,
      AuthorizationCode: 300,
      Session: 86400,
      Interaction: 600,
      Grant: as.refresh_token_ttl_seconds || 30 * 86400,
      RefreshToken: as.refresh_token_ttl_seconds || 30 * 86400,
    },
    extra: {
      features: {
        introspection: { enabled: true },
        revocation: { enabled: true },
        // Every token is for the external API: the client never has to send `resource`
        // (GitHub's OAuth apps don't), the granted resource is used at the token endpoint,
        // and the API's scopes are the only ones it accepts.
        resourceIndicators: {
          enabled: true,
          defaultResource: async () => resource,
          useGrantedResource: async () => true,
          getResourceServerInfo: async (ctx, indicator) => {
            if (indicator !== resource) throw new Provider.errors.InvalidTarget();
            return {
              scope: scopes.join(' '),
              audience: resource,
              accessTokenTTL: as.access_token_ttl_seconds,
              accessTokenFormat: 'opaque',
            };
          },
        },
      },
      top: {
        // GitHub issues a refresh token with every expiring user token, without an
        // offline_access scope; the library's default asks for that scope.
        issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
        // ... and its grants outlive the browser session at github.com.
        expiresWithSession: async () => false,
        routes: {
          authorization: '/login/oauth/authorize',
          token: '/login/oauth/access_token',
          introspection: '/token/introspection',
          revocation: '/token/revocation',
          jwks: '/jwks',
          userinfo: '/me',
        },
      },
    },
  });
  const provider = new Provider(issuer, configuration);
  const clients = as.resource_server ? [...as.clients, {
    // The external API authenticates to the introspection endpoint as this client; it never
    // takes part in an authorization flow.
    client_id: as.resource_server.client_id,
    client_secret: as.resource_server.client_secret,
    grant_types: [],
    response_types: [],
    redirect_uris: [],
  }] : as.clients;
  const registry = new ClientRegistry(provider, clients);
  return {
    label: 'external', provider, mountPath: '', issuer, host, port: as.port,
    clients: registry,
    usersByName: users,
    accountIdFor: (user) => Object.keys(users).find((name) => users[name] === user),
    autoConsent: false,
    resource,
    adminToken: as.admin_token,
  };
}

async function handleInteraction(instanceInfo, req, res, rest) {
  const { provider } = instanceInfo;
  const [uid, action] = rest.split('/');
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    page(res, 400, 'Expired', '<h1>This sign-in page has expired</h1><p>Go back to the application and start again.</p>');
    return;
  }
  if (details.uid !== uid) {
    page(res, 400, 'Expired', '<h1>This sign-in page does not belong to this browser</h1>');
    return;
  }
  const { prompt, params } = details;
  const client = await provider.Client.find(params.client_id);
  const base = `${instanceInfo.mountPath}/interaction/${uid}`;

  if (req.method === 'POST' && action === 'login') {
    const form = new URLSearchParams(await readBody(req, MAX_FORM_BYTES));
    const username = form.get('username') || '';
    const user = checkPassword(instanceInfo.usersByName, username, form.get('password') || '');
    if (!user) {
      page(res, 401, 'Sign in', loginForm(instanceInfo, base, client, 'Wrong user name or password.'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: instanceInfo.accountIdFor(user) } }, { mergeWithLastSubmission: false });
    return;
  }

  if (req.method === 'POST' && (action === 'consent' || action === 'deny')) {
    await readBody(req, MAX_FORM_BYTES);
    if (prompt.name !== 'consent') {
      page(res, 400, 'Expired', '<h1>Nothing to approve here</h1>');
      return;
    }
    if (action === 'deny') {
      await provider.interactionFinished(req, res, {
        error: 'access_denied', error_description: 'The user denied the request',
      }, { mergeWithLastSubmission: false });
      return;
    }
    await finishConsent(instanceInfo, req, res, details);
    return;
  }

  if (req.method !== 'GET' || action) {
    page(res, 405, 'Not allowed', '<h1>Not allowed</h1>');
    return;
  }
  if (prompt.name === 'login') {
    page(res, 200, 'Sign in', loginForm(instanceInfo, base, client));
    return;
  }
  if (prompt.name === 'consent') {
    if (instanceInfo.autoConsent) {
      await finishConsent(instanceInfo, req, res, details);
      return;
    }
    const scopes = [...new Set([
      ...(prompt.details.missingOIDCScope || []),
      ...Object.values(prompt.details.missingResourceScopes || {}).flat(),
    ])].filter((s) => s !== 'openid');
    const username = details.session?.accountId || '';
    page(res, 200, 'Authorize', html`<h1>Authorize ${client.clientName || client.clientId}</h1>
<p>Signed in as <strong>${username}</strong>.</p>
<p><strong>${client.clientName || client.clientId}</strong> wants to act on your account with these permissions:</p>
<ul>` + scopes.map((s) => html`<li><code>${s}</code></li>`).join('') + html`</ul>
<form method="post" action="${base}/consent"><button type="submit" id="authorize">Authorize</button></form>
<form method="post" action="${base}/deny"><button type="submit" id="deny">Cancel</button></form>`);
    return;
  }
  page(res, 501, 'Unsupported', '<h1>Unsupported prompt</h1>');
}

function loginForm(instanceInfo, base, client, error) {
  const heading = instanceInfo.label === 'entra' ? 'Sign in to your organisation' : 'Sign in to the external service';
  return html`<h1>${heading}</h1><p>to continue to <strong>${client.clientName || client.clientId}</strong></p>`
    + (error ? html`<p role="alert" style="color:#b00">${error}</p>` : '')
    + html`<form method="post" action="${base}/login" autocomplete="off">
<label>User name <input name="username" id="username" autofocus></label>
<label>Password <input name="password" id="password" type="password"></label>
<button type="submit" id="sign-in">Sign in</button></form>`;
}

async function finishConsent(instanceInfo, req, res, details) {
  const { provider } = instanceInfo;
  const { prompt: { details: missing }, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const saved = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId: saved } }, { mergeWithLastSubmission: true });
}

function isLoopback(req) {
  const address = req.socket.remoteAddress || '';
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

async function handleAdmin(instanceInfo, req, res, path) {
  const json = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  // Adding a redirect URI to a client is how an attacker would steal codes, so the admin API
  // needs both a loopback caller and the stack's admin token.
  const auth = req.headers.authorization || '';
  if (!isLoopback(req) || !instanceInfo.adminToken || !secretEquals(auth, `Bearer ${instanceInfo.adminToken}`)) {
    json(401, { error: 'unauthorized' });
    return;
  }
  const match = /^\/_admin\/clients\/([^/]+)\/redirect_uris$/.exec(path);
  if (!match || req.method !== 'POST') {
    json(404, { error: 'not_found' });
    return;
  }
  let body;
  try {
    body = JSON.parse(await readBody(req, MAX_ADMIN_BYTES));
  } catch {
    json(400, { error: 'invalid_request', error_description: 'body must be JSON {"redirect_uri": "..."}' });
    return;
  }
  if (typeof body?.redirect_uri !== 'string' || !body.redirect_uri) {
    json(400, { error: 'invalid_request', error_description: 'body must be JSON {"redirect_uri": "..."}' });
    return;
  }
  const result = await instanceInfo.clients.addRedirectUri(decodeURIComponent(match[1]), body.redirect_uri);
  json(result.status, result.body);
}

function serve(instanceInfo) {
  const handler = instanceInfo.provider.callback();
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://placeholder');
      if (url.pathname.startsWith('/_admin/')) {
        await handleAdmin(instanceInfo, req, res, url.pathname);
        return;
      }
      const { mountPath } = instanceInfo;
      if (mountPath && !(url.pathname === mountPath || url.pathname.startsWith(`${mountPath}/`))) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found\n');
        return;
      }
      const rest = url.pathname.slice(mountPath.length);
      if (rest.startsWith('/interaction/')) {
        await handleInteraction(instanceInfo, req, res, rest.slice('/interaction/'.length));
        return;
      }
      // oidc-provider learns its mount path the way Express mounts it: req.originalUrl keeps
      // the full path, req.url the part below the mount point.
      req.originalUrl = req.url;
      req.url = req.url.slice(mountPath.length) || '/';
      handler(req, res);
    } catch (err) {
      console.error(`idp[${instanceInfo.label}]: ${err.status || 500} ${err.message}`);
      if (!res.headersSent) {
        res.writeHead(err.status || 500, { 'content-type': 'text/plain' });
      }
      res.end('error\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(instanceInfo.port, instanceInfo.host, () => resolve(server));
  });
}

async function main() {
  const config = loadConfig();
  const instances = [entraProvider(config), externalProvider(config)];
  for (const info of instances) {
    info.provider.proxy = false;
    info.provider.on('server_error', (ctx, err) => console.error(`idp[${info.label}]: server_error ${err.message}`));
    await info.clients.publishAll();
  }
  const servers = [];
  for (const info of instances) {
    servers.push(await serve(info));
    console.log(`idp[${info.label}]: issuer ${info.issuer} listening on ${info.host}:${info.port}`);
  }
  console.log('idp: ready');
  const stop = () => {
    for (const server of servers) server.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  console.error(`idp: ${err.message}`);
  process.exit(1);
});
