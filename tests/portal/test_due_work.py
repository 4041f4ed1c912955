"""The scheduled work is put together from what each app registers in its
``due_work.py``: the kernel (portal/scheduling.py) names no feature."""

from portal.scheduling import DUE_WORK


def test_each_apps_due_work_is_registered_once_in_app_order():
    names = [f"{work.__module__}.{work.__name__}" for work in DUE_WORK]
    assert names == [
        "portal.due_work.publish_scheduled_pages",
        "portal.notify.deliver_pending",
        "portal.workers.requeue_abandoned_tasks",
        "branches.schedule.reminders_send_due",
        "volunteers.duties.services.check_ins_auto_close",
        "volunteers.dispatch.services.offers_expire",
        "alliance.action_items.reminders.overdue_actions_remind",
    ]
