/** Cyclr's wire shapes (PascalCase, as Cyclr sends them), per docs/cyclr-api.md. */

import type { AuthType, OAuth2Type } from '../../contract/connector.js';

export type { AuthType, OAuth2Type };

export interface CyclrAuthentication {
  Id: string;
  AuthName: string;
  AuthDescription?: string;
  AuthType: AuthType;
  OAuth2Type: OAuth2Type;
  AuthScheme?: string;
}

export interface CyclrParameter {
  Id: number;
  Name: string;
  Description?: string;
  IsAccountConnectorProperty: boolean;
  IsOptional: boolean;
  IsSensitive: boolean;
  TargetType?: string;
  TargetName: string;
  DataType?: string;
  TriggerName?: string | null;
  Values?: unknown[];
}

export interface CyclrConnector {
  Id: number;
  Name: string;
  Description?: string;
  Status?: string;
  Version: string;
  Icon?: string;
  AuthDescription?: string;
  AuthType: AuthType;
  OAuth2Type: OAuth2Type;
  AuthScheme?: string;
  Parameters: CyclrParameter[];
  Authentication: CyclrAuthentication[];
  Categories?: string[];
  IsSystemConnector?: boolean;
}

export interface CyclrAccountConnector {
  Id: number;
  Name: string;
  Description?: string;
  AuthValue?: string | null;
  Authenticated: boolean;
  Connector: Partial<CyclrConnector> & { Id: number; Name: string };
  Properties?: { Name: string; Value: string; Id: number }[];
}

export interface CyclrAccount {
  Id: string;
  Name: string;
  Description?: string;
  Timezone?: string;
  CreatedDate?: string;
}

export interface InstallBody {
  Name?: string;
  Description?: string;
  AuthenticationId?: string;
  AuthValue?: string;
  Properties?: { Name: string; Value: string; Id: number }[];
}

export interface SignInToken {
  Token: string;
  ExpiresAtUtc: string;
}
