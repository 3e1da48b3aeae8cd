"""Cognito user pools: the rules of SignUp, CreateUserPool/UpdateUserPool and
CreateUserPoolClient/UpdateUserPoolClient that moto does not keep.

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


def install():
    refuse_sign_up_when_admins_only()
    keep_fixed_pool_settings_on_update()
    refuse_password_policy_out_of_range()
    refuse_token_lifetimes_out_of_range()
