"""The co-building alliance (党建共建联盟), one app with a sub-package per
sub-domain: partner units (``partners``), the three lists (``lists``), joint
meetings (``meetings``), their minutes (``minutes``) and action items
(``action_items``); models in ``models``, shared rules in ``access``."""
