"""Cognito user pools: the rules of SignUp, CreateUserPool/UpdateUserPool,
CreateUserPoolClient/UpdateUserPoolClient and SetUserPoolMfaConfig that moto does not keep,
and the risk configuration calls it lacks.

- SignUp on a pool where only administrators create users is refused (NotAuthorizedException).
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-cognito-userpool-admincreateuserconfig.html
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SignUp.html
- UpdateUserPool keeps the settings fixed at creation.
  https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pool-updating.html
- CreateUserPool and UpdateUserPool refuse a password policy outside its ranges: MinimumLength
  6..99, PasswordHistorySize 0..24, TemporaryPasswordValidityDays 0..365
  (InvalidParameterException).
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_PasswordPolicyType.html
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPool.html
- CreateUserPoolClient and UpdateUserPoolClient refuse token lifetimes outside their ranges,
  counted in their TokenValidityUnits: ID and access tokens 5 minutes to 1 day, refresh tokens
  60 minutes to 10 years, AuthSessionValidity 3..15 minutes (InvalidParameterException).
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_TokenValidityUnitsType.html
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html
- MfaConfiguration ON or OPTIONAL needs an enabled MFA factor: CreateUserPool and
  UpdateUserPool refuse it without one, and so does SetUserPoolMfaConfig
  (InvalidParameterException). DescribeUserPool and GetUserPoolMfaConfig report the same
  MfaConfiguration, whichever call set it last; DescribeUserPool reports DeletionProtection.
  https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-mfa.html
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SetUserPoolMfaConfig.html
- DescribeRiskConfiguration and SetRiskConfiguration (moto lacks both).
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_DescribeRiskConfiguration.html
  https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SetRiskConfiguration.html
"""


def refuse_sign_up_when_admins_only():
    """SignUp on a user pool whose `AdminCreateUserConfig.AllowAdminCreateUserOnly` is true is
    refused: moto 5.2.1's sign_up never reads the setting and signed the user up. AWS documents
    the setting as "When true, only administrators can create new user profiles. When false,
    users can register themselves ... with the SignUp operation", and SignUp's
    NotAuthorizedException (HTTP 400); the refusal reads "SignUp is not permitted for this user
    pool", as AWS's answer does. It comes first, as on AWS, where such a pool creates no user
    for a SignUp whatever its other settings.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-cognito-userpool-admincreateuserconfig.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SignUp.html
    """
    from moto.cognitoidp.exceptions import NotAuthorizedError
    from moto.cognitoidp.models import CognitoIdpBackend

    original = CognitoIdpBackend.sign_up

    def sign_up(self, client_id, username, password, attributes):
        for pool in self.user_pools.values():
            if client_id in pool.clients:
                config = pool.extended_config.get("AdminCreateUserConfig") or {}
                if config.get("AllowAdminCreateUserOnly"):
                    raise NotAuthorizedError("SignUp is not permitted for this user pool")
        return original(self, client_id, username, password, attributes)

    CognitoIdpBackend.sign_up = sign_up


def keep_fixed_pool_settings_on_update():
    """UpdateUserPool keeps the settings fixed at creation. moto rebuilt the pool's whole
    configuration from the request, so an update (of the tags, say) dropped the pool's alias
    attributes and made user names case sensitive again. AWS documents that an update resets
    every setting the request leaves out to its default, except those that cannot change after
    creation: the sign-in options (`AliasAttributes`, `UsernameAttributes`), user name case
    sensitivity (`UsernameConfiguration`) and the attribute schema (`Schema`), which stay.
    https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pool-updating.html
    """
    from moto.cognitoidp.models import CognitoIdpUserPool

    fixed = ("AliasAttributes", "UsernameAttributes", "UsernameConfiguration", "Schema")
    original = CognitoIdpUserPool.update_extended_config

    def update_extended_config(self, extended_config):
        before = getattr(self, "extended_config", None) or {}
        kept = {k: before[k] for k in fixed if k in before}
        original(self, extended_config)
        self.extended_config.update(kept)

    CognitoIdpUserPool.update_extended_config = update_extended_config


def invalid_parameter(errors):
    """The refusal of values outside their modeled ranges, in the form Cognito answers it:
    InvalidParameterException (HTTP 400) "1 validation error detected: Value '5' at
    'policies.passwordPolicy.minimumLength' failed to satisfy constraint: ..."."""
    from moto.cognitoidp.exceptions import InvalidParameterException

    noun = "error" if len(errors) == 1 else "errors"
    return InvalidParameterException(f"{len(errors)} validation {noun} detected: " + "; ".join(errors))


def out_of_range(value, where, low, high):
    """The constraint message of `value` at `where` outside low..high, or None."""
    if value is None or low <= value <= high:
        return None
    bound = f"greater than or equal to {low}" if value < low else f"less than or equal to {high}"
    return f"Value '{value}' at '{where}' failed to satisfy constraint: Member must have value {bound}"


# PasswordPolicyType's numeric members and their valid ranges.
PASSWORD_POLICY_RANGES = (
    ("MinimumLength", 6, 99),
    ("PasswordHistorySize", 0, 24),
    ("TemporaryPasswordValidityDays", 0, 365),
)


def check_password_policy(config):
    """Every numeric member of Policies.PasswordPolicy in its documented range, each failure
    named by its path in the request, as AWS names it."""
    policy = ((config or {}).get("Policies") or {}).get("PasswordPolicy") or {}
    errors = []
    for member, low, high in PASSWORD_POLICY_RANGES:
        where = "policies.passwordPolicy." + member[0].lower() + member[1:]
        error = out_of_range(policy.get(member), where, low, high)
        if error:
            errors.append(error)
    if errors:
        raise invalid_parameter(errors)


def refuse_password_policy_out_of_range():
    """CreateUserPool and UpdateUserPool refuse a password policy outside its ranges. moto
    stored any number (a MinimumLength of 4, say, which AWS refuses, and which then let moto
    accept passwords AWS never would). AWS documents MinimumLength "can't be less than 6" with
    the valid range 6..99, PasswordHistorySize 0..24 and TemporaryPasswordValidityDays 0..365;
    both operations list InvalidParameterException (HTTP 400) for a value out of range.
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_PasswordPolicyType.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPool.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UpdateUserPool.html
    """
    from moto.cognitoidp.models import CognitoIdpBackend

    create = CognitoIdpBackend.create_user_pool
    update = CognitoIdpBackend.update_user_pool

    def create_user_pool(self, name, extended_config):
        check_password_policy(extended_config)
        return create(self, name, extended_config)

    def update_user_pool(self, user_pool_id, extended_config):
        check_password_policy(extended_config)
        return update(self, user_pool_id, extended_config)

    CognitoIdpBackend.create_user_pool = create_user_pool
    CognitoIdpBackend.update_user_pool = update_user_pool


SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
# Each token's lifetime: its member, its TokenValidityUnits member and default unit, its
# modeled range (in units) and its allowed duration (in seconds).
TOKEN_LIFETIMES = (
    ("IdTokenValidity", "IdToken", "hours", (1, 86400), (5 * 60, 86400)),
    ("AccessTokenValidity", "AccessToken", "hours", (1, 86400), (5 * 60, 86400)),
    ("RefreshTokenValidity", "RefreshToken", "days", (0, 315360000), (60 * 60, 3650 * 86400)),
)
RANGE_MESSAGE = "Invalid range for token validity."


def check_token_lifetimes(config):
    """The app client's token lifetimes in their ranges: first each value in its modeled range
    (and AuthSessionValidity in 3..15), as constraint errors; then each duration, value times
    its unit, in the range the units page documents. A RefreshTokenValidity of 0 is no value:
    the default, 30 days."""
    config = config or {}
    units = config.get("TokenValidityUnits") or {}
    errors = []
    for member, _, _, (low, high), _ in TOKEN_LIFETIMES:
        error = out_of_range(config.get(member), member[0].lower() + member[1:], low, high)
        if error:
            errors.append(error)
    error = out_of_range(config.get("AuthSessionValidity"), "authSessionValidity", 3, 15)
    if error:
        errors.append(error)
    if errors:
        raise invalid_parameter(errors)
    for member, unit_member, default_unit, _, (shortest, longest) in TOKEN_LIFETIMES:
        value = config.get(member)
        unit = SECONDS.get(units.get(unit_member) or default_unit)
        if not value or unit is None:
            continue
        if not shortest <= value * unit <= longest:
            from moto.cognitoidp.exceptions import InvalidParameterException

            raise InvalidParameterException(RANGE_MESSAGE)


def refuse_token_lifetimes_out_of_range():
    """CreateUserPoolClient and UpdateUserPoolClient refuse token lifetimes outside their
    ranges. moto stored any value in any unit. AWS documents, counted in the token's
    TokenValidityUnits (hours by default for ID and access tokens, days for refresh tokens):
    "IdTokenValidity duration can range from five minutes to one day", the same for
    AccessTokenValidity, "RefreshTokenValidity duration can range from 60 minutes to 10
    years"; AuthSessionValidity is 3..15 minutes, and each value has its modeled range (1..86400
    for ID and access tokens). Both operations list InvalidParameterException (HTTP 400);
    a duration out of range reads "Invalid range for token validity.", as AWS's answer does.
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_TokenValidityUnitsType.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UpdateUserPoolClient.html
    """
    from moto.cognitoidp.models import CognitoIdpBackend

    create = CognitoIdpBackend.create_user_pool_client
    update = CognitoIdpBackend.update_user_pool_client

    def create_user_pool_client(self, user_pool_id, generate_secret, extended_config):
        check_token_lifetimes(extended_config)
        return create(self, user_pool_id, generate_secret, extended_config)

    def update_user_pool_client(self, user_pool_id, client_id, extended_config):
        check_token_lifetimes(extended_config)
        return update(self, user_pool_id, client_id, extended_config)

    CognitoIdpBackend.create_user_pool_client = create_user_pool_client
    CognitoIdpBackend.update_user_pool_client = update_user_pool_client


# AWS's refusals (the pages name the rule and InvalidParameterException, not the wording).
MFA_NEEDS_SMS = (
    "SMS configuration and Auto verification for phone_number are required when MFA is "
    "required/optional"
)
MFA_NEEDS_A_FACTOR = (
    "Invalid MFA configuration given, can't disable all MFAs with a required or optional "
    "configuration."
)


def sms_factor(config):
    """Whether CreateUserPool/UpdateUserPool's request makes SMS an MFA factor: an
    SmsConfiguration, with phone numbers verified automatically."""
    return bool(config.get("SmsConfiguration")) and "phone_number" in (
        config.get("AutoVerifiedAttributes") or []
    )


def keep_mfa_rules():
    """MfaConfiguration ON or OPTIONAL needs an MFA factor, and has one value.

    moto kept two: CreateUserPool/UpdateUserPool's copy (in DescribeUserPool) and
    SetUserPoolMfaConfig's (in GetUserPoolMfaConfig), so each call hid the other's change; and
    it took ON with no factor enabled. "When you set MFA to required for a user pool, all users
    must complete MFA to sign in. To sign in, each user must set up at least one MFA factor":
    AWS refuses ON or OPTIONAL with none enabled (InvalidParameterException, HTTP 400):
    - CreateUserPool, whose only factor is SMS (TOTP is SetUserPoolMfaConfig's), without an
      SmsConfiguration and phone_number auto-verified: "SMS configuration and Auto
      verification for phone_number are required when MFA is required/optional";
    - UpdateUserPool the same, unless the pool already has a factor (TOTP or SMS enabled by
      SetUserPoolMfaConfig), which is how MFA is turned on with TOTP alone;
    - SetUserPoolMfaConfig without an enabled factor in the request (a factor left out is
      turned off): "Invalid MFA configuration given, can't disable all MFAs with a required or
      optional configuration."
    UpdateUserPool without MfaConfiguration sets it to OFF, the default, as it resets every
    setting it is not given. DescribeUserPool reports DeletionProtection INACTIVE when it was
    not set (its default).
    https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-mfa.html
    https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-mfa-totp.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPool.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_UpdateUserPool.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SetUserPoolMfaConfig.html
    """
    from moto.cognitoidp.exceptions import InvalidParameterException
    from moto.cognitoidp.models import CognitoIdpBackend, CognitoIdpUserPool
    from moto.cognitoidp.responses import CognitoIdpResponse

    create = CognitoIdpBackend.create_user_pool
    update = CognitoIdpBackend.update_user_pool
    set_mfa = CognitoIdpResponse.set_user_pool_mfa_config
    to_json = CognitoIdpUserPool.to_json

    def requires_mfa(config):
        return (config or {}).get("MfaConfiguration") in ("ON", "OPTIONAL")

    def create_user_pool(self, name, extended_config):
        if requires_mfa(extended_config) and not sms_factor(extended_config):
            raise InvalidParameterException(MFA_NEEDS_SMS)
        pool = create(self, name, extended_config)
        pool.extended_config.pop("MfaConfiguration", None)
        return pool

    def update_user_pool(self, user_pool_id, extended_config):
        config = extended_config or {}
        pool = self.describe_user_pool(user_pool_id)
        has_factor = (pool.token_mfa_config or {}).get("Enabled") or bool(
            (pool.sms_mfa_config or {}).get("SmsConfiguration")
        )
        if requires_mfa(config) and not (has_factor or sms_factor(config)):
            raise InvalidParameterException(MFA_NEEDS_SMS)
        update(self, user_pool_id, extended_config)
        pool.extended_config.pop("MfaConfiguration", None)
        pool.mfa_config = config.get("MfaConfiguration") or "OFF"

    def set_user_pool_mfa_config(self):
        if self._get_param("MfaConfiguration") in ("ON", "OPTIONAL"):
            token = self._get_param("SoftwareTokenMfaConfiguration") or {}
            sms = self._get_param("SmsMfaConfiguration") or {}
            email = self._get_param("EmailMfaConfiguration")
            if not (token.get("Enabled") or sms.get("SmsConfiguration") or email):
                raise InvalidParameterException(MFA_NEEDS_A_FACTOR)
        return set_mfa(self)

    def user_pool_json(self, extended=False):
        out = to_json(self, extended)
        out["MfaConfiguration"] = self.mfa_config
        if extended:
            out.setdefault("DeletionProtection", "INACTIVE")
        return out

    CognitoIdpBackend.create_user_pool = create_user_pool
    CognitoIdpBackend.update_user_pool = update_user_pool
    CognitoIdpResponse.set_user_pool_mfa_config = set_user_pool_mfa_config
    CognitoIdpUserPool.to_json = user_pool_json


RISK_MEMBERS = (
    "CompromisedCredentialsRiskConfiguration",
    "AccountTakeoverRiskConfiguration",
    "RiskExceptionConfiguration",
)


def add_risk_configuration():
    """DescribeRiskConfiguration and SetRiskConfiguration, per user pool or app client; moto
    answered "not implemented". SetRiskConfiguration stores the configurations it is given
    ("To set the risk configuration for the user pool to defaults, send this request with
    only the UserPoolId parameter"); DescribeRiskConfiguration answers RiskConfiguration with
    the pool (and client) ID and what was set, so a pool with nothing set answers just its
    UserPoolId. A client without settings of its own inherits the pool's. An unknown pool or
    client is ResourceNotFoundException. Not kept: the Plus tier AWS requires to set them.
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_DescribeRiskConfiguration.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SetRiskConfiguration.html
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_RiskConfigurationType.html
    """
    from moto.cognitoidp.exceptions import ResourceNotFoundError
    from moto.cognitoidp.responses import CognitoIdpResponse
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow

    def target(self):
        pool = self.backend.describe_user_pool(self._get_param("UserPoolId"))
        client_id = self._get_param("ClientId")
        if client_id and client_id not in pool.clients:
            raise ResourceNotFoundError(f"Client {client_id} does not exist.")
        if not hasattr(pool, "risk_configurations"):
            pool.risk_configurations = {}
        return pool, client_id

    def answer(pool, client_id, stored):
        out = {"UserPoolId": pool.id, **stored}
        if client_id:
            out["ClientId"] = client_id
        return ActionResult({"RiskConfiguration": out})

    def describe_risk_configuration(self):
        pool, client_id = target(self)
        stored = pool.risk_configurations.get(client_id)
        if stored is None and client_id:
            stored = pool.risk_configurations.get(None)
        return answer(pool, client_id, stored or {})

    def set_risk_configuration(self):
        pool, client_id = target(self)
        given = {m: self._get_param(m) for m in RISK_MEMBERS if self._get_param(m)}
        stored = {**given, "LastModifiedDate": utcnow()} if given else {}
        pool.risk_configurations[client_id] = stored
        return answer(pool, client_id, stored)

    if not hasattr(CognitoIdpResponse, "describe_risk_configuration"):
        CognitoIdpResponse.describe_risk_configuration = describe_risk_configuration
    if not hasattr(CognitoIdpResponse, "set_risk_configuration"):
        CognitoIdpResponse.set_risk_configuration = set_risk_configuration


def install():
    refuse_sign_up_when_admins_only()
    keep_fixed_pool_settings_on_update()
    refuse_password_policy_out_of_range()
    refuse_token_lifetimes_out_of_range()
    keep_mfa_rules()
    add_risk_configuration()
