from allauth.account.forms import SignupForm as AllauthSignupForm


class SignupForm(AllauthSignupForm):
    """Sign-up needs a mobile number: it is how an account finds its member record.
    (It is optional in ACCOUNT_SIGNUP_FIELDS so that accounts made by an
    administrator without a number can still sign in.)"""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phone"].required = True
