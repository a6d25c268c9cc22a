'use strict';
// Keyless runtime tokens ("credentials": "ambient", SPEC §2) from Node: the AWS default chain of
// the process signs the S3 requests. Which credentials signed comes from the dev server's
// request log (VSYNC_TEST_REQUEST_LOG: "<access key id> <session token>" per request); each
// test hands out a session token of its own. The chain reads the process environment, which
// withEnv sets for the length of one test (the tests run one at a time).
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const { describe, test } = require('node:test');
const vsync = require('..');
const { errorName, push, requireEnv, runtimeToken, s3, tmpDir, uniquePrefix, withEnv } = require('./helpers');

const PASS = 'keyless node pass phrase';
const CHAIN_VARS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_DEFAULT_PROFILE',
  'AWS_CONFIG_FILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  'AWS_EC2_METADATA_SERVICE_ENDPOINT',
  'AWS_EC2_METADATA_DISABLED',
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_STS',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
];

/** A port nobody listens on: the port of a server just closed. */
async function refusedPort() {
  const srv = net.createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** Runs fn with only `vars` of the chain set: no profile file, IMDS at a refused port, no
 * other AWS variable, so the host's own credentials never take part. */
async function withChain(vars, fn) {
  const dir = tmpDir();
  try {
    const clean = {
      AWS_CONFIG_FILE: path.join(dir, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-credentials'),
      AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${await refusedPort()}`,
    };
    return await withEnv({ ...clean, ...vars }, CHAIN_VARS, fn);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A vault pushed with the server's keys; its keyless twin (same prefix and salt). */
function keylessVault() {
  const prefix = uniquePrefix();
  const salt = `node-keyless-${crypto.randomUUID()}`;
  assert.equal(push(runtimeToken({ prefix, salt }), PASS, 'DATABASE_URL=postgres://keyless-node\n'), 1);
  return runtimeToken({ prefix, salt, ambient: true });
}

function signedWith(token) {
  const log = fs.readFileSync(requireEnv('VSYNC_TEST_REQUEST_LOG'), 'utf8');
  return log.split('\n').filter((line) => line.split(' ')[1] === token);
}

/** A loopback container-credentials endpoint (ECS task roles, EKS Pod Identity) handing out the
 * dev server's keys with `token`; `seen` lists each request's Authorization header. */
async function containerEndpoint(token) {
  const seen = [];
  const srv = http.createServer((req, res) => {
    seen.push(req.headers.authorization ?? '');
    const s = s3();
    const expiration = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    res.end(
      JSON.stringify({ AccessKeyId: s.accessKey, SecretAccessKey: s.secretKey, Token: token, Expiration: expiration }),
    );
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${srv.address().port}/v2/credentials`, seen, close: () => srv.close() };
}

describe('keyless tokens', () => {
  test('container credentials sign open() and remoteGeneration(), with the authorization token', async () => {
    const config = keylessVault();
    const token = `node-container-${crypto.randomUUID()}`;
    const endpoint = await containerEndpoint(token);
    try {
      const vars = {
        AWS_CONTAINER_CREDENTIALS_FULL_URI: endpoint.url,
        AWS_CONTAINER_AUTHORIZATION_TOKEN: 'pod-identity-token',
      };
      await withChain(vars, async () => {
        const v = await vsync.openWith({ config, passphrase: PASS });
        try {
          assert.equal(v.getEnv('DATABASE_URL'), 'postgres://keyless-node');
          assert.equal(await v.remoteGeneration(), 1);
        } finally {
          v.close();
        }
      });
      const lines = signedWith(token);
      assert.equal(lines.length, 3, 'manifest + bundle at open, the HEAD of remoteGeneration');
      assert.ok(
        lines.every((l) => l.startsWith(`${s3().accessKey} `)),
        lines.join('\n'),
      );
      // Asked once per call (never cached), each time with the authorization token.
      assert.deepEqual(endpoint.seen, ['pod-identity-token', 'pod-identity-token']);
    } finally {
      endpoint.close();
    }
  });

  test('no source: S3UnreachableError within 2 s naming the sources', async () => {
    const config = keylessVault();
    await withChain({}, async () => {
      const t0 = Date.now();
      await assert.rejects(vsync.openWith({ config, passphrase: PASS }), (e) => {
        assert.equal(errorName(e), 'S3UnreachableError');
        for (const source of [
          'AWS_ACCESS_KEY_ID',
          'AWS_WEB_IDENTITY_TOKEN_FILE',
          'AWS_CONTAINER_CREDENTIALS_FULL_URI',
          'IMDSv2',
        ])
          assert.ok(e.message.includes(source), `${source} in: ${e.message}`);
        return true;
      });
      assert.ok(Date.now() - t0 < 2000, `failed after ${Date.now() - t0} ms`);
    });
  });
});
