import { keyFieldName, normaliseKey } from '@scimbridge/scim-core';
import type { Connection } from 'mongoose';
import { storeCollections } from './collections.js';
import type { UserDocument } from './documents.js';
import { uuidv7 } from './ids.js';
import { FERRETDB_PROFILE, withFlatKeys, type StoreProfile } from './profile.js';

export interface AccountInput {
  userName: string;
  email?: string;
  givenName?: string;
  familyName?: string;
  displayName?: string;
  passwordHash?: string;
}

/**
 * Creates an account the way the host application does (not SCIM-managed, may have a password), so that a
 * later SCIM create with the same userName or work email links to it instead of duplicating it.
 */
export async function createAccount(
  connection: Connection,
  orgId: string,
  input: AccountInput,
  /** The server's profile, for the key copies it needs (`withFlatKeys`); the embedded server's by default. */
  profile: StoreProfile = FERRETDB_PROFILE,
): Promise<UserDocument> {
  const now = new Date();
  const doc: UserDocument = {
    _id: uuidv7(now.getTime()),
    orgId,
    meta: { resourceType: 'User', created: now, lastModified: now, version: 1 },
    userName: input.userName,
    [keyFieldName('userName')]: normaliseKey(input.userName),
    active: true,
    scim: { managed: false },
    auth: {
      ssoOnly: false,
      ...(input.passwordHash === undefined ? {} : { passwordHash: input.passwordHash }),
    },
  };
  if (input.givenName !== undefined || input.familyName !== undefined)
    doc.name = {
      ...(input.givenName === undefined ? {} : { givenName: input.givenName }),
      ...(input.familyName === undefined ? {} : { familyName: input.familyName }),
    };
  if (input.displayName !== undefined) doc.displayName = input.displayName;
  if (input.email !== undefined)
    doc.emails = [
      { value: input.email, [keyFieldName('value')]: normaliseKey(input.email), type: 'work', primary: true },
    ];
  await storeCollections(connection).users.insertOne(withFlatKeys(profile, 'users', doc));
  return doc;
}
