import { mention, mentionsOf } from '../../../src/notify/slack/mentions.js';

/** Only Slack IDs become mentions; any other text (a CLI user's name, an edited row) is shown as text. */
test('IDs become mentions; anything else is escaped text', () => {
  expect(mention('U0OPER')).toBe('<@U0OPER>');
  expect(mention('W0ABC')).toBe('<@W0ABC>');
  expect(mention('S0GROUP')).toBe('<!subteam^S0GROUP>');
  expect(mention('U1> <!channel')).toBe('U1&gt; &lt;!channel');
  expect(mention('cli:olga *x*')).toBe('cli:olga \u2217x\u2217');
  expect(mention('')).toBe('');
  expect(mentionsOf({ roles: { systemOwners: ['U0OWNER'], itManagers: [], qa: [], operators: [] } }, ['systemOwners'])).toBe('<@U0OWNER>');
});
