"""The HR side: employee records from HR, applications and their approval, HR changes."""
