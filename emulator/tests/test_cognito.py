"""Cognito user pools on a running emulator (`ecomflow_emulator.cognito`): each rule with the
case AWS allows and the one it refuses or resets.
"""

import unittest

from support import EmulatorCase


class CognitoUserPools(EmulatorCase):
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


if __name__ == "__main__":
    unittest.main()
