import { URN } from '../urns.js';
import { defineSchema, type AttributeInput, type SchemaDefinition } from './types.js';

// Characteristics follow the schema representations of RFC 7643 §8.7.1; descriptions are shortened.

const primary = (what: string): AttributeInput => ({
  name: 'primary',
  type: 'boolean',
  description: `A Boolean value indicating the 'primary' or preferred ${what}. The primary attribute value 'true' MUST appear no more than once.`,
});
const display: AttributeInput = {
  name: 'display',
  description: 'A human-readable name, primarily used for display purposes.',
};
const typeLabel = (canonicalValues?: string[]): AttributeInput => ({
  name: 'type',
  description: "A label indicating the attribute's function.",
  ...(canonicalValues ? { canonicalValues } : {}),
});

/** RFC 7643 §4.1 "User" resource schema. */
export const userSchema: SchemaDefinition = defineSchema({
  id: URN.User,
  name: 'User',
  description: 'User Account',
  attributes: [
    {
      name: 'userName',
      description:
        'Unique identifier for the User, typically used by the user to directly authenticate to the service provider. REQUIRED.',
      required: true,
      uniqueness: 'server',
    },
    {
      name: 'name',
      type: 'complex',
      description: "The components of the user's real name.",
      subAttributes: [
        {
          name: 'formatted',
          description:
            'The full name, including all middle names, titles, and suffixes, formatted for display.',
        },
        {
          name: 'familyName',
          description: 'The family name of the User, or last name in most Western languages.',
        },
        {
          name: 'givenName',
          description: 'The given name of the User, or first name in most Western languages.',
        },
        { name: 'middleName', description: 'The middle name(s) of the User.' },
        {
          name: 'honorificPrefix',
          description: 'The honorific prefix(es) of the User, or title in most Western languages.',
        },
        {
          name: 'honorificSuffix',
          description: 'The honorific suffix(es) of the User, or suffix in most Western languages.',
        },
      ],
    },
    { name: 'displayName', description: 'The name of the User, suitable for display to end-users.' },
    {
      name: 'nickName',
      description: "The casual way to address the user in real life, e.g., 'Bob' instead of 'Robert'.",
    },
    {
      name: 'profileUrl',
      type: 'reference',
      referenceTypes: ['external'],
      caseExact: true,
      description: "A fully qualified URL pointing to a page representing the User's online profile.",
    },
    { name: 'title', description: 'The user\'s title, such as "Vice President".' },
    {
      name: 'userType',
      description: 'Used to identify the relationship between the organization and the user.',
    },
    { name: 'preferredLanguage', description: "Indicates the User's preferred written or spoken language." },
    {
      name: 'locale',
      description: "Used to indicate the User's default location for purposes of localizing items.",
    },
    { name: 'timezone', description: "The User's time zone in the 'Olson' time zone database format." },
    {
      name: 'active',
      type: 'boolean',
      description: "A Boolean value indicating the User's administrative status.",
    },
    {
      name: 'password',
      caseExact: true,
      mutability: 'writeOnly',
      returned: 'never',
      description:
        "The User's cleartext password. Accepted but never stored: users of this service authenticate through SSO.",
    },
    {
      name: 'emails',
      type: 'complex',
      multiValued: true,
      description: "Email addresses for the user. Canonical type values of 'work', 'home', and 'other'.",
      subAttributes: [
        { name: 'value', description: 'Email address for the user.' },
        display,
        typeLabel(['work', 'home', 'other']),
        primary('mailing address or primary email address'),
      ],
    },
    {
      name: 'phoneNumbers',
      type: 'complex',
      multiValued: true,
      description: 'Phone numbers for the User.',
      subAttributes: [
        { name: 'value', description: 'Phone number of the User.' },
        display,
        typeLabel(['work', 'home', 'mobile', 'fax', 'pager', 'other']),
        primary('phone number'),
      ],
    },
    {
      name: 'ims',
      type: 'complex',
      multiValued: true,
      description: 'Instant messaging addresses for the User.',
      subAttributes: [
        { name: 'value', description: 'Instant messaging address for the User.' },
        display,
        typeLabel(['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo']),
        primary('messenger'),
      ],
    },
    {
      name: 'photos',
      type: 'complex',
      multiValued: true,
      description: 'URLs of photos of the User.',
      subAttributes: [
        {
          name: 'value',
          type: 'reference',
          referenceTypes: ['external'],
          caseExact: true,
          description: 'URL of a photo of the User.',
        },
        display,
        typeLabel(['photo', 'thumbnail']),
        primary('photo or thumbnail'),
      ],
    },
    {
      name: 'addresses',
      type: 'complex',
      multiValued: true,
      description:
        "A physical mailing address for this User. Canonical type values of 'work', 'home', and 'other'.",
      subAttributes: [
        {
          name: 'formatted',
          description: 'The full mailing address, formatted for display or use with a mailing label.',
        },
        { name: 'streetAddress', description: 'The full street address component.' },
        { name: 'locality', description: 'The city or locality component.' },
        { name: 'region', description: 'The state or region component.' },
        { name: 'postalCode', description: 'The zip code or postal code component.' },
        { name: 'country', description: 'The country name component.' },
        typeLabel(['work', 'home', 'other']),
        primary('mailing address'),
      ],
    },
    {
      name: 'groups',
      type: 'complex',
      multiValued: true,
      mutability: 'readOnly',
      description: 'A list of groups to which the user belongs. Changed through the Group resource only.',
      subAttributes: [
        {
          name: 'value',
          caseExact: true,
          mutability: 'readOnly',
          description: "The identifier of the User's group.",
        },
        {
          name: '$ref',
          type: 'reference',
          referenceTypes: ['Group'],
          caseExact: true,
          mutability: 'readOnly',
          description: "The URI of the corresponding 'Group' resource to which the user belongs.",
        },
        { ...display, mutability: 'readOnly' },
        { ...typeLabel(['direct', 'indirect']), mutability: 'readOnly' },
      ],
    },
    {
      name: 'entitlements',
      type: 'complex',
      multiValued: true,
      description: 'A list of entitlements for the User that represent a thing the User has.',
      subAttributes: [
        { name: 'value', description: 'The value of an entitlement.' },
        display,
        typeLabel(),
        primary('entitlement'),
      ],
    },
    {
      name: 'roles',
      type: 'complex',
      multiValued: true,
      description:
        "A list of roles for the User that collectively represent who the User is, e.g., 'Student', 'Faculty'.",
      subAttributes: [
        { name: 'value', description: 'The value of a role.' },
        display,
        typeLabel(),
        primary('role'),
      ],
    },
    {
      name: 'x509Certificates',
      type: 'complex',
      multiValued: true,
      description: 'A list of certificates issued to the User.',
      subAttributes: [
        {
          name: 'value',
          type: 'binary',
          caseExact: true,
          description: 'The value of an X.509 certificate (base64 DER).',
        },
        display,
        typeLabel(),
        primary('certificate'),
      ],
    },
  ],
});

/** RFC 7643 §4.2 "Group" resource schema. */
export const groupSchema: SchemaDefinition = defineSchema({
  id: URN.Group,
  name: 'Group',
  description: 'Group',
  attributes: [
    { name: 'displayName', required: true, description: 'A human-readable name for the Group. REQUIRED.' },
    {
      name: 'members',
      type: 'complex',
      multiValued: true,
      description: 'A list of members of the Group.',
      subAttributes: [
        { name: 'value', mutability: 'immutable', description: 'Identifier of the member of this Group.' },
        {
          name: '$ref',
          type: 'reference',
          referenceTypes: ['User', 'Group'],
          mutability: 'immutable',
          description: 'The URI corresponding to a SCIM resource that is a member of this Group.',
        },
        {
          name: 'type',
          canonicalValues: ['User', 'Group'],
          mutability: 'immutable',
          description: "A label indicating the type of resource, e.g., 'User' or 'Group'.",
        },
        {
          name: 'display',
          mutability: 'readOnly',
          description: 'A human-readable name for the group member.',
        },
      ],
    },
  ],
});

/**
 * RFC 7643 §4.3 enterprise extension. `manager.$ref` is declared not required: the server computes it from
 * `manager.value` on output (it is never stored), and §4.3's prose calls both sub-attributes RECOMMENDED.
 */
export const enterpriseUserSchema: SchemaDefinition = defineSchema({
  id: URN.EnterpriseUser,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: [
    { name: 'employeeNumber', description: 'Numeric or alphanumeric identifier assigned to a person.' },
    { name: 'costCenter', description: 'Identifies the name of a cost center.' },
    { name: 'organization', description: 'Identifies the name of an organization.' },
    { name: 'division', description: 'Identifies the name of a division.' },
    { name: 'department', description: 'Identifies the name of a department.' },
    {
      name: 'manager',
      type: 'complex',
      description: "The User's manager, referencing the 'id' attribute of another User.",
      subAttributes: [
        {
          name: 'value',
          required: true,
          caseExact: true,
          description: "The id of the SCIM resource representing the User's manager.",
        },
        {
          name: '$ref',
          type: 'reference',
          referenceTypes: ['User'],
          description: "The URI of the SCIM resource representing the User's manager.",
        },
        {
          name: 'displayName',
          mutability: 'readOnly',
          description: "The displayName of the User's manager. READ-ONLY.",
        },
      ],
    },
  ],
});
