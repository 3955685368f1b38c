import { MONGODB_PROFILE } from '@scimbridge/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlainPolicy } from '../src/index.js';
import { client, startHarness, type Harness } from './harness.js';

/**
 * docs/api.md "Adding a resource type", followed step by step: a schema registration, a policy, a collection and
 * the wiring; its CRUD over HTTP then goes through the same lifecycle as Users and Groups.
 */
const DEVICE = 'urn:example:params:scim:schemas:core:2.0:Device';

let h: Harness;

// Under the detected profile (FerretDB here) and the MongoDB profile: an added type's lookups and writes by id take
// their filter from the profile like the built-in ones (docs/query-shapes.md "Store profiles").
describe.each([
  ['the detected store profile', undefined],
  ['the MongoDB store profile', MONGODB_PROFILE],
])('under %s', (_name, storeProfile) => {
  beforeAll(async () => {
    h = await startHarness({
      ...(storeProfile ? { storeProfile } : {}),
      extraResourceKinds: (registry) => {
        // 1. Schema and resource type.
        registry.registerSchema({
          id: DEVICE,
          name: 'Device',
          description: 'A managed device',
          attributes: [
            { name: 'serialNumber', required: true, uniqueness: 'server' },
            { name: 'model' },
            { name: 'owner', caseExact: true },
          ],
        });
        registry.registerResourceType({
          id: 'Device',
          endpoint: '/Devices',
          schema: DEVICE,
          description: 'Devices',
          normalisedKeys: ['serialNumber'],
        });
        // 3 and 4. The policy and the wiring.
        return [
          {
            resourceType: 'Device',
            collection: 'devices',
            policy: (context) => new PlainPolicy(context, 'serialNumber'),
          },
        ];
      },
    });
    // 2. The collection's indexes.
    const devices = h.connection.collection('devices');
    await devices.createIndex({ orgId: 1, serialNumberKey: 1 }, { unique: true });
    await devices.createIndex({ 'outbox.at': 1 }, { sparse: true });
    await devices.createIndex({ orgId: 1, _id: 1 });
  });
  afterAll(async () => {
    await h?.close();
  });

  describe('a resource type added through the recipe', () => {
    it('is advertised, and serves create, read, list, filter, PUT, PATCH, If-Match, 409, Bulk and DELETE', async () => {
      const { orgId, token } = await h.organisation();
      const api = client(h.app, token);

      const types = await api.get('/ResourceTypes');
      expect(types.json().Resources.map((t: { id: string }) => t.id)).toEqual(['User', 'Group', 'Device']);
      expect((await api.get(`/Schemas/${DEVICE}`)).statusCode).toBe(200);

      const created = await api.post('/Devices', { schemas: [DEVICE], serialNumber: 'SN-1', model: 'X1' });
      expect(created.statusCode).toBe(201);
      const id = created.json().id as string;
      expect(created.headers.location).toMatch(new RegExp(`/Devices/${id}$`));
      expect(created.json().meta).toMatchObject({ resourceType: 'Device', version: 'W/"1"' });

      // Uniqueness is case-insensitive through the normalised key, mapped to 409 by the lifecycle.
      const twin = await api.post('/Devices', { schemas: [DEVICE], serialNumber: 'sn-1' });
      expect(twin.statusCode).toBe(409);
      expect(twin.json().scimType).toBe('uniqueness');

      expect((await api.get(`/Devices/${id}`)).json().model).toBe('X1');
      const listed = await api.get('/Devices?filter=serialNumber%20eq%20%22sn-1%22');
      expect(listed.json().totalResults).toBe(1);

      const put = await api.put(
        `/Devices/${id}`,
        { schemas: [DEVICE], serialNumber: 'SN-1', model: 'X2' },
        { 'if-match': 'W/"1"' },
      );
      expect(put.statusCode).toBe(200);
      expect(put.json().meta.version).toBe('W/"2"');
      const stale = await api.patch(
        `/Devices/${id}`,
        {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'replace', path: 'owner', value: 'alice' }],
        },
        { 'if-match': 'W/"1"' },
      );
      expect(stale.statusCode).toBe(412);
      const patched = await api.patch(`/Devices/${id}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'replace', path: 'owner', value: 'alice' }],
      });
      expect(patched.json()).toMatchObject({ owner: 'alice', model: 'X2' });

      const bulk = await api.post('/Bulk', {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
        Operations: [
          {
            method: 'POST',
            path: '/Devices',
            bulkId: 'd2',
            data: { schemas: [DEVICE], serialNumber: 'SN-2' },
          },
        ],
      });
      expect(bulk.json().Operations[0].status).toBe('201');
      const everything = await api.post('/.search', {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
        filter: 'serialNumber sw "SN-"',
      });
      expect(everything.json().totalResults).toBe(2);

      expect((await api.delete(`/Devices/${id}`)).statusCode).toBe(204);
      expect((await api.get(`/Devices/${id}`)).statusCode).toBe(404);
      expect(await h.connection.collection('devices').countDocuments({ _id: id as never })).toBe(0);

      // Each change has its one event, in order, and nothing is left pending.
      const events = await h.connection
        .collection('audit_events')
        .find({ orgId, resourceId: id })
        .sort({ _id: 1 })
        .toArray();
      expect(events.map((e) => e.action)).toEqual([
        'device.created',
        'device.updated',
        'device.updated',
        'device.deleted',
      ]);
      expect(await h.connection.collection('devices').countDocuments({ 'outbox.0': { $exists: true } })).toBe(
        0,
      );
    });
  });
});
