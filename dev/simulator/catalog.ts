/**
 * The simulator's connector catalog: a fixed, deterministic list (same Ids, GUIDs and order on every start) so tests
 * and benchmarks elsewhere can rely on the fixtures below without looking them up first.
 */
import { createHash } from 'node:crypto';
import type {
  AuthType,
  CyclrAuthentication,
  CyclrConnector,
  CyclrParameter,
  OAuth2Type,
} from '../../src/activities/cyclr/types.js';

/** Catalog size is deliberately not a multiple of 25/50/100, so every page size ends on a short page. */
export const CATALOG_SIZE = 127;

/** A GUID derived from a label, so authentication Ids are stable across restarts. */
export function stableGuid(label: string): string {
  const h = createHash('sha1').update(label).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const authGuid = (connectorId: number, index: number) => stableGuid(`cyclr-sim:auth:${connectorId}:${index}`);

// A 1x1 transparent GIF: real Icons are data URIs, but the catalog should stay small on the wire.
const ICON = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';

const AUTH_SCHEME: Record<AuthType, string> = {
  ApiKey: 'Header',
  Basic: 'Basic',
  OAuth1: 'OAuth1',
  OAuth2: 'Bearer',
  None: 'None',
  AuthFields: 'Fields',
};

interface AuthSpec {
  type: AuthType;
  oauth2?: Exclude<OAuth2Type, 'Unknown'>;
}

interface ConnectorSpec {
  id: number;
  name: string;
  version: string;
  category: string;
  auth: AuthSpec[];
  status?: string;
  /** TargetNames of account-connector properties the account must set (IsOptional false). */
  required?: string[];
  /** TargetNames of optional account-connector properties. */
  optional?: string[];
  /** TargetNames of method-level parameters (not account-connector properties). */
  methodLevel?: string[];
  sensitive?: string[];
}

function authentication(spec: ConnectorSpec): CyclrAuthentication[] {
  return spec.auth.map((a, i) => ({
    Id: authGuid(spec.id, i),
    AuthName: a.type === 'OAuth2' ? `OAuth 2.0 (${a.oauth2})` : a.type === 'ApiKey' ? 'API Key' : a.type,
    AuthDescription: `${a.type} authentication for ${spec.name}.`,
    AuthType: a.type,
    OAuth2Type: a.type === 'OAuth2' ? a.oauth2! : 'Unknown',
    AuthScheme: AUTH_SCHEME[a.type],
  }));
}

function parameters(spec: ConnectorSpec): CyclrParameter[] {
  const out: CyclrParameter[] = [];
  let n = 0;
  const add = (target: string, isAccountConnectorProperty: boolean, isOptional: boolean) => {
    n += 1;
    out.push({
      Id: spec.id * 100 + n,
      Name: target.replace(/([a-z])([A-Z])/g, '$1 $2'),
      Description: `${target} for ${spec.name}.`,
      IsAccountConnectorProperty: isAccountConnectorProperty,
      IsOptional: isOptional,
      IsSensitive: spec.sensitive?.includes(target) ?? false,
      TargetType: isAccountConnectorProperty ? 'AccountConnectorProperty' : 'MethodParameter',
      TargetName: target,
      DataType: 'Text',
      TriggerName: null,
      Values: [],
    });
  };
  for (const t of spec.required ?? []) add(t, true, false);
  for (const t of spec.optional ?? []) add(t, true, true);
  for (const t of spec.methodLevel ?? []) add(t, false, true);
  return out;
}

function toConnector(spec: ConnectorSpec): CyclrConnector {
  const primary = spec.auth[0];
  return {
    Id: spec.id,
    Name: spec.name,
    Description: `${spec.name} connector (${spec.category}).`,
    Status: spec.status ?? 'Approved',
    Version: spec.version,
    Icon: ICON,
    AuthDescription: `Authenticate with ${spec.name}.`,
    // Top-level auth fields are deprecated in Swagger but still sent; they mirror the first method.
    AuthType: primary.type,
    OAuth2Type: primary.type === 'OAuth2' ? primary.oauth2! : 'Unknown',
    AuthScheme: AUTH_SCHEME[primary.type],
    Parameters: parameters(spec),
    Authentication: authentication(spec),
    Categories: [spec.category],
    IsSystemConnector: false,
  };
}

const apiKey: AuthSpec = { type: 'ApiKey' };
const basic: AuthSpec = { type: 'Basic' };
const oauth1: AuthSpec = { type: 'OAuth1' };
const none: AuthSpec = { type: 'None' };
const authFields: AuthSpec = { type: 'AuthFields' };
const oauthCode: AuthSpec = { type: 'OAuth2', oauth2: 'AuthorisationCode' };
const oauthClient: AuthSpec = { type: 'OAuth2', oauth2: 'ClientCredentials' };
const oauthPassword: AuthSpec = { type: 'OAuth2', oauth2: 'PasswordCredentials' };

const FIXTURE_SPECS: ConnectorSpec[] = [
  { id: 1001, name: 'Acme CRM', version: 'v1.0', category: 'CRMs', auth: [apiKey], optional: ['Region'] },
  { id: 1002, name: 'HubSpot', version: 'v2', category: 'CRMs', auth: [oauthCode] },
  { id: 1003, name: 'Xero', version: 'v1.0', category: 'Accounting', auth: [oauthCode, apiKey] },
  { id: 1004, name: 'Salesforce', version: 'v3', category: 'CRMs', auth: [oauthCode] },
  { id: 1005, name: 'Salesforce', version: 'v4', category: 'CRMs', auth: [oauthCode] },
  { id: 1006, name: 'Mailchimp', version: 'v3.0', category: 'Marketing', auth: [apiKey] },
  { id: 1007, name: 'Slack', version: 'v1.0', category: 'Communication', auth: [oauthCode] },
  { id: 1008, name: 'Twitter', version: 'v1.1', category: 'Social', auth: [oauth1] },
  { id: 1009, name: 'Webhook', version: 'v1.0', category: 'Utilities', auth: [none] },
  { id: 1010, name: 'Zendesk', version: 'v2', category: 'Helpdesk', auth: [basic] },
  {
    id: 1011,
    name: 'SugarCRM',
    version: 'v11',
    category: 'CRMs',
    auth: [oauthClient],
    required: ['ClientId', 'ClientSecret'],
    sensitive: ['ClientSecret'],
  },
  { id: 1012, name: 'Sage Intacct', version: 'v3.0', category: 'ERPs', auth: [oauthPassword] },
  { id: 1013, name: 'Magento', version: 'v2.4', category: 'eCommerce', auth: [authFields] },
  {
    id: 1014,
    name: 'Pipedrive',
    version: 'v1',
    category: 'CRMs',
    auth: [apiKey],
    required: ['CompanyDomain'],
    methodLevel: ['DealStage'],
  },
  { id: 1015, name: 'Acme Draft', version: 'v0.1', category: 'CRMs', auth: [apiKey], status: 'Draft' },
];

/** Well-known connectors other tests rely on. Ids, names, versions and GUIDs never change. */
export const FIXTURE_CONNECTORS = {
  /** ApiKey, no required properties: install with AuthValue => Authenticated. */
  apiKey: { id: 1001, name: 'Acme CRM', version: 'v1.0' },
  /** OAuth2 AuthorisationCode: needs the connectorauth consent page. */
  oauth: { id: 1002, name: 'HubSpot', version: 'v2' },
  /** Two methods: OAuth2 AuthorisationCode (first, the default) and ApiKey. */
  twoMethods: {
    id: 1003,
    name: 'Xero',
    version: 'v1.0',
    oauth2AuthenticationId: authGuid(1003, 0),
    apiKeyAuthenticationId: authGuid(1003, 1),
  },
  /** Two connectors share this Name (v3 and v4): a lookup by name alone is ambiguous. */
  ambiguousName: 'Salesforce',
  salesforceV3: { id: 1004, name: 'Salesforce', version: 'v3' },
  salesforceV4: { id: 1005, name: 'Salesforce', version: 'v4' },
  mailchimp: { id: 1006, name: 'Mailchimp', version: 'v3.0' },
  slack: { id: 1007, name: 'Slack', version: 'v1.0' },
  oauth1: { id: 1008, name: 'Twitter', version: 'v1.1' },
  none: { id: 1009, name: 'Webhook', version: 'v1.0' },
  basic: { id: 1010, name: 'Zendesk', version: 'v2' },
  /** OAuth2 ClientCredentials with required properties ClientId and ClientSecret: no consent screen. */
  clientCredentials: { id: 1011, name: 'SugarCRM', version: 'v11', requiredProperties: ['ClientId', 'ClientSecret'] },
  passwordCredentials: { id: 1012, name: 'Sage Intacct', version: 'v3.0' },
  authFields: { id: 1013, name: 'Magento', version: 'v2.4' },
  /** ApiKey with a required account-connector property, and a method-level parameter that is not one. */
  requiredProperty: {
    id: 1014,
    name: 'Pipedrive',
    version: 'v1',
    requiredProperties: ['CompanyDomain'],
    nonAccountProperty: 'DealStage',
  },
  /** Status 'Draft': install fails with "Connector 1015 is a draft and cannot be installed." */
  draft: { id: 1015, name: 'Acme Draft', version: 'v0.1' },
} as const;

const REAL_NAMES: [string, string][] = [
  ['Zoho CRM', 'CRMs'],
  ['Freshdesk', 'Helpdesk'],
  ['Freshsales', 'CRMs'],
  ['Shopify', 'eCommerce'],
  ['WooCommerce', 'eCommerce'],
  ['BigCommerce', 'eCommerce'],
  ['QuickBooks Online', 'Accounting'],
  ['NetSuite', 'ERPs'],
  ['Sage 50', 'Accounting'],
  ['Microsoft Dynamics 365', 'CRMs'],
  ['SAP Business One', 'ERPs'],
  ['Odoo', 'ERPs'],
  ['Intercom', 'Helpdesk'],
  ['Help Scout', 'Helpdesk'],
  ['Jira', 'Project Management'],
  ['Asana', 'Project Management'],
  ['Trello', 'Project Management'],
  ['Monday.com', 'Project Management'],
  ['ClickUp', 'Project Management'],
  ['Airtable', 'Utilities'],
  ['Google Sheets', 'Utilities'],
  ['Microsoft Teams', 'Communication'],
  ['Gmail', 'Communication'],
  ['Outlook', 'Communication'],
  ['Dropbox', 'File Storage'],
  ['Box', 'File Storage'],
  ['OneDrive', 'File Storage'],
  ['Stripe', 'Payments'],
  ['PayPal', 'Payments'],
  ['GoCardless', 'Payments'],
  ['Klaviyo', 'Marketing'],
  ['ActiveCampaign', 'Marketing'],
  ['Marketo', 'Marketing'],
  ['Pardot', 'Marketing'],
  ['Constant Contact', 'Marketing'],
  ['Campaign Monitor', 'Marketing'],
  ['SendGrid', 'Communication'],
  ['Twilio', 'Communication'],
  ['Eventbrite', 'Events'],
  ['Zoom', 'Communication'],
  ['Calendly', 'Utilities'],
  ['DocuSign', 'Utilities'],
  ['PandaDoc', 'Utilities'],
  ['BambooHR', 'HR'],
  ['Workday', 'HR'],
  ['Greenhouse', 'HR'],
  ['Lever', 'HR'],
  ['Personio', 'HR'],
  ['FreeAgent', 'Accounting'],
  ['KashFlow', 'Accounting'],
  ['Exact Online', 'Accounting'],
  ['Brightpearl', 'ERPs'],
  ['Linnworks', 'eCommerce'],
  ['Salesloft', 'CRMs'],
  ['Outreach', 'CRMs'],
  ['Copper', 'CRMs'],
  ['Insightly', 'CRMs'],
  ['Capsule CRM', 'CRMs'],
  ['Nutshell', 'CRMs'],
  ['Agile CRM', 'CRMs'],
  ['Bullhorn', 'CRMs'],
  ['ServiceNow', 'Helpdesk'],
  ['Zuora', 'Payments'],
  ['Chargebee', 'Payments'],
  ['Recurly', 'Payments'],
];

const PREFIXES = ['Nimbus', 'Vertex', 'Quartz', 'Harbor', 'Summit', 'Beacon', 'Cobalt', 'Juniper', 'Lumen', 'Meridian'];
const SUFFIXES: [string, string][] = [
  ['Ledger', 'Accounting'],
  ['Desk', 'Helpdesk'],
  ['Commerce', 'eCommerce'],
  ['Mail', 'Marketing'],
  ['CRM', 'CRMs'],
  ['HR', 'HR'],
];

// Generated connectors cycle through every AuthType/OAuth2Type, weighted like a real catalog (mostly OAuth2 and keys).
const AUTH_CYCLE: AuthSpec[] = [oauthCode, apiKey, basic, oauthCode, apiKey, oauthClient, authFields, oauth1, none];

function generatedSpecs(): ConnectorSpec[] {
  const names: [string, string][] = [...REAL_NAMES];
  for (const s of SUFFIXES) for (const p of PREFIXES) names.push([`${p} ${s[0]}`, s[1]]);
  const count = CATALOG_SIZE - FIXTURE_SPECS.length;
  return names.slice(0, count).map(([name, category], i) => {
    const auth = AUTH_CYCLE[i % AUTH_CYCLE.length];
    const needsInstance = i % 5 === 4 && auth.type !== 'None';
    return {
      id: 2001 + i,
      name,
      version: `v${1 + (i % 3)}.0`,
      category,
      auth: [i % 23 === 11 ? oauthPassword : auth],
      required: needsInstance ? ['InstanceUrl'] : undefined,
    };
  });
}

/** Read-only catalog with the lookups the API needs. */
export class Catalog {
  readonly all: readonly CyclrConnector[];
  private readonly byId = new Map<number, CyclrConnector>();

  constructor(connectors: CyclrConnector[] = buildConnectors()) {
    this.all = [...connectors].sort(
      (a, b) => a.Name.localeCompare(b.Name, 'en') || a.Version.localeCompare(b.Version, 'en') || a.Id - b.Id,
    );
    for (const c of this.all) this.byId.set(c.Id, c);
  }

  get(id: number): CyclrConnector | undefined {
    return this.byId.get(id);
  }

  /** Case-insensitive exact Name match (Cyclr's SQL collation is case-insensitive). */
  byName(name: string, version?: string): CyclrConnector[] {
    const n = name.toLowerCase();
    const v = version?.toLowerCase();
    return this.all.filter((c) => c.Name.toLowerCase() === n && (v === undefined || c.Version.toLowerCase() === v));
  }
}

export function buildConnectors(): CyclrConnector[] {
  return [...FIXTURE_SPECS, ...generatedSpecs()].map(toConnector);
}
