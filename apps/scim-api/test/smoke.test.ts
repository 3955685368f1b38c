import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, newUser, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.close());

describe('smoke', () => {
  it('creates and reads a user', async () => {
    const { token } = await h.organisation();
    const c = client(h.app, token);
    const created = await c.post('/Users', newUser('a@example.com'));
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;
    const read = await c.get(`/Users/${id}`);
    expect(read.statusCode, read.body).toBe(200);
    const list = await c.get('/Users?filter=userName%20eq%20%22A@EXAMPLE.COM%22');
    expect(list.json(), list.body).toMatchObject({ totalResults: 1 });
  });
});
