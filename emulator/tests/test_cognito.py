"""Cognito user pools on a running emulator (`ecomflow_emulator.cognito`): each rule with the
case AWS allows and the one it refuses or resets.
"""

import itertools
import unittest

from support import EmulatorCase


class CognitoUserPools(EmulatorCase):
    names = itertools.count()

    # SignUp and AllowAdminCreateUserOnly.

    def pool_client(self, admin_only):
        cognito = self.client("cognito-idp")
        config = {"AdminCreateUserConfig": {"AllowAdminCreateUserOnly": admin_only}}
        pool = cognito.create_user_pool(PoolName=f"pool-{admin_only}", **config)["UserPool"]["Id"]
        return cognito.create_user_pool_client(UserPoolId=pool, ClientName="app")["UserPoolClient"]["ClientId"]

    def sign_up(self, client_id):
        return self.client("cognito-idp").sign_up(ClientId=client_id, Username="shopper", Password="Secret-pass-1!")

    def test_sign_up_refused_when_only_admins_create_users(self):
        client_id = self.pool_client(admin_only=True)
        message = self.refused(lambda: self.sign_up(client_id), "NotAuthorizedException", 400)
        self.assertEqual(message, "SignUp is not permitted for this user pool")

    def test_sign_up_allowed_otherwise(self):
        client_id = self.pool_client(admin_only=False)
        self.assertIn("UserSub", self.sign_up(client_id))

    # UpdateUserPool: settings fixed at creation stay, the others reset to defaults.

    def test_update_keeps_the_settings_fixed_at_creation(self):
        cognito = self.client("cognito-idp")
        pool = cognito.create_user_pool(
            PoolName="fixed",
            AliasAttributes=["email"],
            UsernameConfiguration={"CaseSensitive": False},
        )["UserPool"]["Id"]
        cognito.update_user_pool(UserPoolId=pool, UserPoolTags={"team": "data"})
        described = cognito.describe_user_pool(UserPoolId=pool)["UserPool"]
        self.assertEqual(described["AliasAttributes"], ["email"])
        self.assertEqual(described["UsernameConfiguration"], {"CaseSensitive": False})

    def test_update_resets_what_the_request_leaves_out(self):
        cognito = self.client("cognito-idp")
        pool = cognito.create_user_pool(
            PoolName="reset", AutoVerifiedAttributes=["email"]
        )["UserPool"]["Id"]
        cognito.update_user_pool(UserPoolId=pool, UserPoolTags={"team": "data"})
        described = cognito.describe_user_pool(UserPoolId=pool)["UserPool"]
        self.assertNotIn("email", described.get("AutoVerifiedAttributes", []))

    # CreateUserPool / UpdateUserPool: the password policy's ranges.

    def create_pool(self, **policy):
        cognito = self.client("cognito-idp", validate=False)
        return cognito.create_user_pool(
            PoolName=f"policy-{next(self.names)}", Policies={"PasswordPolicy": policy}
        )["UserPool"]["Id"]

    def test_password_policy_ranges_refused(self):
        for member, value, path, bound in (
            ("MinimumLength", 5, "minimumLength", "greater than or equal to 6"),
            ("MinimumLength", 100, "minimumLength", "less than or equal to 99"),
            ("PasswordHistorySize", 25, "passwordHistorySize", "less than or equal to 24"),
            ("TemporaryPasswordValidityDays", 366, "temporaryPasswordValidityDays", "less than or equal to 365"),
            ("TemporaryPasswordValidityDays", -1, "temporaryPasswordValidityDays", "greater than or equal to 0"),
        ):
            with self.subTest(member=member, value=value):
                message = self.refused(
                    lambda: self.create_pool(**{member: value}), "InvalidParameterException", 400
                )
                self.assertEqual(
                    message,
                    f"1 validation error detected: Value '{value}' at 'policies.passwordPolicy.{path}' "
                    f"failed to satisfy constraint: Member must have value {bound}",
                )

    def test_password_policy_edges_accepted(self):
        for policy in (
            {"MinimumLength": 6, "PasswordHistorySize": 0, "TemporaryPasswordValidityDays": 0},
            {"MinimumLength": 99, "PasswordHistorySize": 24, "TemporaryPasswordValidityDays": 365},
        ):
            pool = self.create_pool(**policy)
            described = self.client("cognito-idp").describe_user_pool(UserPoolId=pool)["UserPool"]
            self.assertEqual(described["Policies"]["PasswordPolicy"]["MinimumLength"], policy["MinimumLength"])

    def test_update_password_policy_checked_too(self):
        cognito = self.client("cognito-idp", validate=False)
        pool = self.create_pool(MinimumLength=8)
        update = lambda length: cognito.update_user_pool(
            UserPoolId=pool, Policies={"PasswordPolicy": {"MinimumLength": length}}
        )
        message = self.refused(lambda: update(4), "InvalidParameterException", 400)
        self.assertIn("'policies.passwordPolicy.minimumLength'", message)
        update(6)
        described = cognito.describe_user_pool(UserPoolId=pool)["UserPool"]
        self.assertEqual(described["Policies"]["PasswordPolicy"]["MinimumLength"], 6)

    # CreateUserPoolClient / UpdateUserPoolClient: token lifetimes, in their units.

    def create_client(self, pool, **lifetimes):
        return self.client("cognito-idp", validate=False).create_user_pool_client(
            UserPoolId=pool, ClientName=f"app-{next(self.names)}", **lifetimes
        )["UserPoolClient"]

    def test_token_lifetimes_out_of_range_refused(self):
        pool = self.create_pool(MinimumLength=8)
        for lifetimes in (
            {"AccessTokenValidity": 25},  # hours by default: over a day
            {"IdTokenValidity": 4, "TokenValidityUnits": {"IdToken": "minutes"}},
            {"AccessTokenValidity": 299, "TokenValidityUnits": {"AccessToken": "seconds"}},
            {"RefreshTokenValidity": 3651},  # days by default: over 10 years
            {"RefreshTokenValidity": 59, "TokenValidityUnits": {"RefreshToken": "minutes"}},
        ):
            with self.subTest(lifetimes=lifetimes):
                message = self.refused(
                    lambda: self.create_client(pool, **lifetimes), "InvalidParameterException", 400
                )
                self.assertEqual(message, "Invalid range for token validity.")
        for lifetimes, where in (
            ({"AccessTokenValidity": 86401, "TokenValidityUnits": {"AccessToken": "seconds"}}, "accessTokenValidity"),
            ({"AuthSessionValidity": 16}, "authSessionValidity"),
            ({"AuthSessionValidity": 2}, "authSessionValidity"),
        ):
            with self.subTest(lifetimes=lifetimes):
                message = self.refused(
                    lambda: self.create_client(pool, **lifetimes), "InvalidParameterException", 400
                )
                self.assertIn(f"at '{where}' failed to satisfy constraint", message)

    def test_token_lifetime_edges_accepted(self):
        pool = self.create_pool(MinimumLength=8)
        for lifetimes in (
            {
                "IdTokenValidity": 5,
                "AccessTokenValidity": 300,
                "RefreshTokenValidity": 60,
                "AuthSessionValidity": 3,
                "TokenValidityUnits": {"IdToken": "minutes", "AccessToken": "seconds", "RefreshToken": "minutes"},
            },
            {"IdTokenValidity": 24, "AccessTokenValidity": 1, "RefreshTokenValidity": 3650, "AuthSessionValidity": 15,
             "TokenValidityUnits": {"AccessToken": "days"}},
            {"RefreshTokenValidity": 0},  # no value: the default, 30 days
        ):
            with self.subTest(lifetimes=lifetimes):
                self.assertIn("ClientId", self.create_client(pool, **lifetimes))

    def test_update_client_lifetimes_checked_too(self):
        cognito = self.client("cognito-idp", validate=False)
        pool = self.create_pool(MinimumLength=8)
        client = self.create_client(pool)
        update = lambda **lifetimes: cognito.update_user_pool_client(
            UserPoolId=pool, ClientId=client["ClientId"], **lifetimes
        )
        self.refused(
            lambda: update(AccessTokenValidity=2, TokenValidityUnits={"AccessToken": "days"}),
            "InvalidParameterException",
            400,
        )
        updated = update(AccessTokenValidity=1, TokenValidityUnits={"AccessToken": "days"})["UserPoolClient"]
        self.assertEqual(updated["AccessTokenValidity"], 1)


if __name__ == "__main__":
    unittest.main()
