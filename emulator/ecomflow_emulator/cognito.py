"""Cognito user pools: the rules of SignUp and UpdateUserPool that moto does not keep."""


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


def install():
    refuse_sign_up_when_admins_only()
    keep_fixed_pool_settings_on_update()
