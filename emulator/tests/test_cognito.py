"""Cognito user pools on a running emulator (`ecomflow_emulator.cognito`): each rule with the
case AWS allows and the one it refuses or resets.
"""

import itertools
import unittest

from support import EmulatorCase

MFA_NEEDS_SMS = (
    "SMS configuration and Auto verification for phone_number are required when MFA is required/optional"
)
MFA_NEEDS_A_FACTOR = (
    "Invalid MFA configuration given, can't disable all MFAs with a required or optional configuration."
)


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

    # MFA: ON or OPTIONAL needs an enabled factor; one MfaConfiguration, wherever it was set.

    def test_mfa_on_refused_without_a_factor(self):
        cognito = self.client("cognito-idp")
        for mfa in ("ON", "OPTIONAL"):
            with self.subTest(mfa=mfa):
                message = self.refused(
                    lambda: cognito.create_user_pool(PoolName=f"mfa-{next(self.names)}", MfaConfiguration=mfa),
                    "InvalidParameterException",
                    400,
                )
                self.assertEqual(message, MFA_NEEDS_SMS)
        pool = cognito.create_user_pool(PoolName=f"mfa-{next(self.names)}")["UserPool"]["Id"]
        message = self.refused(
            lambda: cognito.update_user_pool(UserPoolId=pool, MfaConfiguration="ON"), "InvalidParameterException", 400
        )
        self.assertEqual(message, MFA_NEEDS_SMS)
        for token in ({"Enabled": False}, None):
            with self.subTest(token=token):
                extra = {"SoftwareTokenMfaConfiguration": token} if token else {}
                message = self.refused(
                    lambda: cognito.set_user_pool_mfa_config(UserPoolId=pool, MfaConfiguration="OPTIONAL", **extra),
                    "InvalidParameterException",
                    400,
                )
                self.assertEqual(message, MFA_NEEDS_A_FACTOR)
        self.assertEqual(cognito.get_user_pool_mfa_config(UserPoolId=pool)["MfaConfiguration"], "OFF")

    def test_mfa_on_with_totp_round_trips(self):
        cognito = self.client("cognito-idp")
        pool = cognito.create_user_pool(PoolName=f"mfa-{next(self.names)}", DeletionProtection="ACTIVE")["UserPool"]
        self.assertEqual((pool["MfaConfiguration"], pool["DeletionProtection"]), ("OFF", "ACTIVE"))
        pool = pool["Id"]
        cognito.set_user_pool_mfa_config(
            UserPoolId=pool, MfaConfiguration="ON", SoftwareTokenMfaConfiguration={"Enabled": True}
        )
        config = cognito.get_user_pool_mfa_config(UserPoolId=pool)
        self.assertEqual(config["MfaConfiguration"], "ON")
        self.assertEqual(config["SoftwareTokenMfaConfiguration"], {"Enabled": True})
        described = cognito.describe_user_pool(UserPoolId=pool)["UserPool"]
        self.assertEqual((described["MfaConfiguration"], described["DeletionProtection"]), ("ON", "ACTIVE"))
        # UpdateUserPool may keep ON now that TOTP is enabled; what it leaves out is reset.
        cognito.update_user_pool(
            UserPoolId=pool, MfaConfiguration="OPTIONAL", UserPoolAddOns={"AdvancedSecurityMode": "AUDIT"}
        )
        described = cognito.describe_user_pool(UserPoolId=pool)["UserPool"]
        self.assertEqual(described["MfaConfiguration"], "OPTIONAL")
        self.assertEqual(described["DeletionProtection"], "INACTIVE")
        self.assertEqual(described["UserPoolAddOns"], {"AdvancedSecurityMode": "AUDIT"})
        self.assertEqual(cognito.get_user_pool_mfa_config(UserPoolId=pool)["MfaConfiguration"], "OPTIONAL")
        cognito.update_user_pool(UserPoolId=pool, DeletionProtection="ACTIVE")
        described = cognito.describe_user_pool(UserPoolId=pool)["UserPool"]
        self.assertEqual((described["MfaConfiguration"], described["DeletionProtection"]), ("OFF", "ACTIVE"))
        self.assertNotIn("UserPoolAddOns", described)

    def test_mfa_on_with_sms_at_creation(self):
        cognito = self.client("cognito-idp")
        pool = cognito.create_user_pool(
            PoolName=f"mfa-{next(self.names)}",
            MfaConfiguration="ON",
            AutoVerifiedAttributes=["phone_number"],
            SmsConfiguration={"SnsCallerArn": "arn:aws:iam::123456789012:role/sms", "ExternalId": "x"},
            UserPoolAddOns={"AdvancedSecurityMode": "ENFORCED"},
        )["UserPool"]
        self.assertEqual(pool["MfaConfiguration"], "ON")
        described = cognito.describe_user_pool(UserPoolId=pool["Id"])["UserPool"]
        self.assertEqual(described["UserPoolAddOns"], {"AdvancedSecurityMode": "ENFORCED"})

    # DescribeRiskConfiguration / SetRiskConfiguration.

    def test_risk_configuration(self):
        cognito = self.client("cognito-idp")
        pool = cognito.create_user_pool(PoolName=f"risk-{next(self.names)}")["UserPool"]["Id"]
        client = cognito.create_user_pool_client(UserPoolId=pool, ClientName="app")["UserPoolClient"]["ClientId"]
        self.assertEqual(cognito.describe_risk_configuration(UserPoolId=pool)["RiskConfiguration"], {"UserPoolId": pool})
        compromised = {"EventFilter": ["SIGN_IN"], "Actions": {"EventAction": "BLOCK"}}
        cognito.set_risk_configuration(UserPoolId=pool, CompromisedCredentialsRiskConfiguration=compromised)
        for client_id in (None, client):
            with self.subTest(client=client_id):
                extra = {"ClientId": client_id} if client_id else {}
                risk = cognito.describe_risk_configuration(UserPoolId=pool, **extra)["RiskConfiguration"]
                self.assertEqual(risk["CompromisedCredentialsRiskConfiguration"], compromised)
                self.assertIn("LastModifiedDate", risk)
        cognito.set_risk_configuration(UserPoolId=pool)  # back to the defaults
        self.assertEqual(cognito.describe_risk_configuration(UserPoolId=pool)["RiskConfiguration"], {"UserPoolId": pool})
        for extra in ({"UserPoolId": "us-east-1_missing"}, {"UserPoolId": pool, "ClientId": "missing"}):
            with self.subTest(missing=extra):
                self.refused(lambda: cognito.describe_risk_configuration(**extra), "ResourceNotFoundException", 400)


if __name__ == "__main__":
    unittest.main()
