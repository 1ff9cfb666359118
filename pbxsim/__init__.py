"""pbxsim package."""
