"""The activities back office: staff pages for the activities, their registrations and attendance."""
